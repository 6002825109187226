/** A second factor as a login, changePassword or deleteAccount carries it (passkey assertions come with issue 22). */
export type SecondFactor = { method: 'TOTP'; code: string } | { method: 'RECOVERY_CODE'; code: string };
