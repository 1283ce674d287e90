import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { AudienceMember } from '../../collector/audiences/audience-member.js';
import { googleCells, GOOGLE_HEADER } from '../../collector/audiences/google-format.js';
import { metaCells, metaNormalized, META_HEADER } from '../../collector/audiences/meta-format.js';
import { linkedinCells, LINKEDIN_HEADER } from '../../collector/audiences/linkedin-format.js';
import { readTraits } from '../../collector/audiences/read-traits.js';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

const member = (email: string | null, traits: Record<string, unknown>): AudienceMember => ({
  leadId: 'lead_1',
  visitorId: null,
  email,
  stage: 'intent',
  score: 12,
  traits: readTraits(JSON.stringify(traits)),
});

const john = member('  John.Smith@Example.COM ', {
  phone: '(650) 555-1234',
  firstName: ' John ',
  lastName: 'Smith',
  company: 'Acme, Inc.',
  jobTitle: 'Head of  Growth',
  country: 'us',
  city: 'St. Louis',
  state: 'California',
  zip: '94043-1234',
});

describe('platform rows', () => {
  test('the headers are exactly the ones each platform documents', () => {
    expect(GOOGLE_HEADER.join(',')).toBe('Email,Phone,First Name,Last Name,Country,Zip');
    expect(META_HEADER.join(',')).toBe('email,phone,fn,ln,ct,st,zip,country');
    expect(LINKEDIN_HEADER.join(',')).toBe('email,firstname,lastname,jobtitle,employeecompany,country,googleaid');
  });

  test('Google hashes email, E.164 phone with + and names, and leaves Country and Zip in clear', () => {
    expect(googleCells(john)).toEqual([
      sha256('john.smith@example.com'),
      sha256('+16505551234'),
      sha256('john'),
      sha256('smith'),
      'US',
      '94043',
    ]);
  });

  test('Meta hashes every key, the phone as digits without +', () => {
    expect(metaNormalized(john)).toEqual(['john.smith@example.com', '16505551234', 'john', 'smith', 'stlouis', 'ca', '94043', 'us']);
    expect(metaCells(john)).toEqual(
      ['john.smith@example.com', '16505551234', 'john', 'smith', 'stlouis', 'ca', '94043', 'us'].map(sha256),
    );
  });

  test('LinkedIn hashes the email and keeps names, title and company as text', () => {
    expect(linkedinCells(john)).toEqual([sha256('john.smith@example.com'), 'John', 'Smith', 'Head of Growth', 'Acme, Inc.', 'US', '']);
  });

  test('missing traits give empty cells, never the hash of an empty string', () => {
    const bare = member('ann@example.org', {});
    expect(googleCells(bare)).toEqual([sha256('ann@example.org'), '', '', '', '', '']);
    expect(metaCells(bare)).toEqual([sha256('ann@example.org'), '', '', '', '', '', '', '']);
    expect(linkedinCells(bare)).toEqual([sha256('ann@example.org'), '', '', '', '', '', '']);
  });

  test('a phone without a country code and no country trait is left out rather than guessed', () => {
    const m = member('a@example.org', { phone: '650 555 1234' });
    expect(googleCells(m)![1]).toBe('');
    expect(metaNormalized(m)[1]).toBe('');
  });

  test('a member with nothing to match on is skipped', () => {
    const nothing = member('not-an-email', { city: '' });
    expect(googleCells(nothing)).toBeNull();
    expect(metaCells(nothing)).toBeNull();
    expect(linkedinCells(nothing)).toBeNull();
  });

  test('numeric traits count (a zip stored as a number)', () => {
    expect(googleCells(member('a@example.org', { zip: 94043, country: 'US' }))!.slice(4)).toEqual(['US', '94043']);
  });
});
