/** A second factor as a login, changePassword or deleteAccount carries it; `assertion` is the browser's JSON, parsed. */
export type SecondFactor = { method: 'TOTP'; code: string } | { method: 'RECOVERY_CODE'; code: string } | { method: 'WEBAUTHN'; assertion: AssertionJson };

/**
 * A WebAuthn assertion (PublicKeyCredential.toJSON() of navigator.credentials.get())
 * whose shape was checked: the fields @simplewebauthn/server reads are strings.
 */
export interface AssertionJson {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment?: string;
}

/** A registration response (PublicKeyCredential.toJSON() of navigator.credentials.create()) whose shape was checked. */
export interface RegistrationJson {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; attestationObject: string; transports?: string[] };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment?: string;
}
