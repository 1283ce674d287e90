// Webhook signing secrets: random, shown once when generated; stored as given because signing needs them.
import { randomBytes } from 'node:crypto';

export const generateWebhookSecret = () => 'whsec_' + randomBytes(32).toString('base64url');
