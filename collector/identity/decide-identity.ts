// The identity rule as a pure decision: what an email does to the lead a visitor belongs to.

export type IdentityAction =
  /** the visitor's lead already has this email */
  | { kind: 'none' }
  /** an anonymous lead takes the email: its earlier events are already its own */
  | { kind: 'claim' }
  /** an anonymous lead joins the lead that has the email (another device): its history moves there */
  | { kind: 'merge'; into: string }
  /** an identified lead is never merged (PostHog's rule): from now on the visitor belongs to the other lead */
  | { kind: 'switch'; to: string | null };

/**
 * @param current the visitor's lead now: its id and email (null while anonymous)
 * @param owner the lead that already has the email, if any
 */
export function decideIdentity(current: { leadId: string; email: string | null }, email: string, owner: string | null): IdentityAction {
  if (current.email === email || owner === current.leadId) return { kind: 'none' };
  if (current.email === null) return owner ? { kind: 'merge', into: owner } : { kind: 'claim' };
  return { kind: 'switch', to: owner };
}
