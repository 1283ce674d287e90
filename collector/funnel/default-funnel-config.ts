// The funnel a site starts with (contract §6): the B2B playbook as stage rules, score rules, MQL threshold and SQL triggers.
import { funnelConfigSchema, type FunnelConfig } from './funnel-config.js';
import { DEFAULT_STAGES } from '../../shared/stages.js';

const PRICING = ['/pricing*', '/plans*'];
const COMPARISON = ['/compare*', '/comparison*', '/vs/*', '*-vs-*', '/alternative*'];
const CASE_STUDIES = ['/case-stud*', '/customers*', '/customer-stor*', '/success-stor*'];
// a download's props.url is the link's whole address: a PDF named for what it is may carry a query or a hash. A playbook
// is content too (the demo's own download, /demo/files/funnel-playbook.pdf)
const CONTENT_FILES = [
  '*ebook*', '*e-book*', '*whitepaper*', '*white-paper*', '*playbook*', ...['*guide*.pdf', '*report*.pdf'].flatMap((f) => [f, f + '?*', f + '#*']),
];
const CASE_STUDY_FILES = ['*case-stud*', '*case_stud*', '*casestud*', '*customer-stor*'];
const SALES_FORM_PAGES = ['/contact*', '/quote*', '/get-a-quote*', '/request-a-quote*', '/trial*', '/free-trial*', '/start-trial*', '/talk-to-sales*', '/sales*'];
/** `data-funnelbeam="contact"` and the like on a form, when the snippet passes the marker on as `props.form` */
const SALES_FORM_KINDS = ['contact*', 'sales*', 'quote*', 'trial*'];
const SALES_FORM_EVENTS = ['contact_sales', 'quote_request', 'trial_signup', 'trial_started'];
const CAREERS = ['/careers*', '/jobs*'];

const DEFAULTS: FunnelConfig = {
  stages: [...DEFAULT_STAGES],
  stageRules: [
    { id: 'any_visit', stage: 'awareness', when: {} },

    { id: 'newsletter_signup', stage: 'interest', when: { event: 'newsletter_signup' } },
    { id: 'content_download', stage: 'interest', when: { event: 'download', props: { url: CONTENT_FILES } } },
    { id: 'webinar_registration', stage: 'interest', when: { event: ['webinar_registration', 'webinar_signup'] } },
    { id: 'webinar_form', stage: 'interest', when: { event: 'form_submit', path: '/webinar*' } },
    { id: 'webinar_form_kind', stage: 'interest', when: { event: 'form_submit', props: { form: 'webinar*' } } },
    { id: 'second_session', stage: 'interest', when: { source: 'web', sessions: 2 } },

    { id: 'pricing_page', stage: 'consideration', when: { event: 'pageview', path: PRICING } },
    { id: 'comparison_page', stage: 'consideration', when: { event: 'pageview', path: COMPARISON } },
    { id: 'case_study_page', stage: 'consideration', when: { event: 'pageview', path: CASE_STUDIES } },
    { id: 'case_study_download', stage: 'consideration', when: { event: 'download', props: { url: CASE_STUDY_FILES } } },

    { id: 'sales_form', stage: 'intent', when: { event: 'form_submit', path: SALES_FORM_PAGES } },
    { id: 'sales_form_kind', stage: 'intent', when: { event: 'form_submit', props: { form: SALES_FORM_KINDS } } },
    { id: 'sales_form_event', stage: 'intent', when: { event: SALES_FORM_EVENTS } },
    { id: 'pricing_two_sessions', stage: 'intent', when: { event: 'pageview', path: PRICING, sessions: 2 } },

    { id: 'demo_request', stage: 'evaluation', when: { event: 'demo_request' } },
    { id: 'demo_completed', stage: 'evaluation', when: { event: 'demo_completed', source: 'server' } },
    { id: 'proposal_sent', stage: 'evaluation', when: { event: 'proposal_sent', source: 'server' } },

    { id: 'closed_won', stage: 'purchase', when: { event: 'closed_won', source: 'server' } },
  ],
  scoreRules: [
    { id: 'visit', points: 2, when: { event: 'pageview' }, window: 'session', cap: 10 },
    { id: 'return_visit', points: 5, when: { source: 'web', sessions: 2 }, cap: 5 },
    { id: 'pricing_view', points: 10, when: { event: 'pageview', path: PRICING }, window: '1d', cap: 30 },
    { id: 'comparison_view', points: 5, when: { event: 'pageview', path: COMPARISON }, window: '1d', cap: 15 },
    { id: 'case_study_view', points: 5, when: { event: 'pageview', path: CASE_STUDIES }, window: '1d', cap: 15 },
    { id: 'content_download', points: 10, when: { event: 'download' }, cap: 30 },
    { id: 'newsletter_signup', points: 10, when: { event: 'newsletter_signup' }, cap: 10 },
    // a registration scores the same whether it is an event or a form found by its page or its marker, once per event
    {
      id: 'webinar_registration',
      points: 15,
      when: { any: [{ event: ['webinar_registration', 'webinar_signup'] }, { event: 'form_submit', path: '/webinar*' }, { event: 'form_submit', props: { form: 'webinar*' } }] },
      cap: 30,
    },
    // the same three ways as the intent stage reads a sales form, scored once per event
    {
      id: 'sales_form',
      points: 20,
      when: { any: [{ event: 'form_submit', path: SALES_FORM_PAGES }, { event: 'form_submit', props: { form: SALES_FORM_KINDS } }, { event: SALES_FORM_EVENTS }] },
      cap: 40,
    },
    { id: 'demo_request', points: 30, when: { event: 'demo_request' }, cap: 30 },
    { id: 'demo_completed', points: 20, when: { event: 'demo_completed', source: 'server' }, cap: 20 },
    { id: 'proposal_sent', points: 10, when: { event: 'proposal_sent', source: 'server' }, cap: 10 },
    { id: 'careers_page', points: -10, when: { event: 'pageview', path: CAREERS }, cap: 20 },
  ],
  halfLifeDays: 90,
  mqlThreshold: 50,
  sqlWhen: [{ event: 'sales_accepted', source: 'server' }, { event: 'demo_request' }],
};

/**
 * The defaults as the parser gives them back (its key order): a config is fingerprinted by its JSON text, so a GET of
 * the defaults PUT back unchanged (an admin screen saved without an edit) is the same version, and no lead is rebuilt
 * as if the rules had changed.
 */
export const DEFAULT_FUNNEL_CONFIG: FunnelConfig = funnelConfigSchema.parse(DEFAULTS);
