/**
 * The associated data each kind of sealed secret is bound to, so a row copied onto another owner
 * does not open. The API opens what the worker sealed, and key rotation re-seals every kind, so
 * all of them build it the same way.
 */
export const adminSecretContext = (serverId: string): string => `admin_password:${serverId}`;
/** A certificate's private key, bound to its server. */
export const certificateKeyContext = (serverId: string): string => `certificate_key:${serverId}`;
/** A server's TURN REST secret (calls), bound to its server. */
export const turnSecretContext = (serverId: string): string => `turn_secret:${serverId}`;
/** An ACME account key, bound to its CA directory. */
export const acmeAccountKeyContext = (directoryUrl: string): string => `acme_account_key:${directoryUrl}`;
/** A server's XEP-0227 export, bound to its row. */
export const exportContentContext = (exportId: string): string => `server_export:${exportId}`;
/** An uploaded XEP-0227 file, bound to the account that uploaded it. */
export const importContentContext = (accountId: string): string => `server_import:${accountId}`;
/** An account's two-factor (TOTP) secret, sealed by the API, bound to its account. */
export const totpSecretContext = (accountId: string): string => `totp_secret:${accountId}`;
