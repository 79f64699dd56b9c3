/**
 * The associated data each kind of sealed secret is bound to. The API opens what the worker
 * sealed, so both must build it the same way.
 */
export const adminSecretContext = (serverId: string): string => `admin_password:${serverId}`;
