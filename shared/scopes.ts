// API key scopes (contract §1). `admin` implies every other scope.
export const SCOPES = ['events:write', 'leads:read', 'audiences:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];
