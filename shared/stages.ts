// Funnel stage names, in order. Stage rules may rename or add stages; these are the defaults.
export const DEFAULT_STAGES = ['awareness', 'interest', 'consideration', 'intent', 'evaluation', 'purchase'] as const;
export type DefaultStage = (typeof DEFAULT_STAGES)[number];
