import { ClientErrorCode, WalletSyncError } from './client.errors';
import type { WebAuthnCredentials } from './platform';

/**
 * The browser's half of a WebAuthn ceremony, with the server's options as
 * JSON on one side and navigator.credentials on the other: binary fields are
 * base64url in the JSON and ArrayBuffers for the browser. The PRF extension
 * is asked for with the protocol's salt; its output stays on the device (it is
 * never part of the JSON sent to the server).
 */

const fromBase64Url = (text: string): ArrayBuffer => {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
};

const toBase64Url = (data: ArrayBuffer | ArrayBufferView): string => {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

type Descriptor = { id: string; type: string; transports?: string[] };
const descriptors = (list: Descriptor[] | undefined) => list?.map((d) => ({ ...d, id: fromBase64Url(d.id) }));

/** navigator.credentials.create() options for the server's creation options, asking for PRF with `prfSalt`. */
export function creationOptions(json: string, prfSalt: Uint8Array): { publicKey: Record<string, unknown> } {
  const options = JSON.parse(json) as { challenge: string; user: { id: string }; excludeCredentials?: Descriptor[]; extensions?: Record<string, unknown> };
  return {
    publicKey: {
      ...options,
      challenge: fromBase64Url(options.challenge),
      user: { ...options.user, id: fromBase64Url(options.user.id) },
      excludeCredentials: descriptors(options.excludeCredentials) ?? [],
      extensions: { ...options.extensions, prf: { eval: { first: prfSalt } } },
    },
  };
}

/** navigator.credentials.get() options for the server's request options, asking for PRF with `prfSalt`. */
export function requestOptions(json: string, prfSalt: Uint8Array): { publicKey: Record<string, unknown> } {
  const options = JSON.parse(json) as { challenge: string; allowCredentials?: Descriptor[]; extensions?: Record<string, unknown> };
  return {
    publicKey: {
      ...options,
      challenge: fromBase64Url(options.challenge),
      ...(options.allowCredentials ? { allowCredentials: descriptors(options.allowCredentials) } : {}),
      extensions: { ...options.extensions, prf: { eval: { first: prfSalt } } },
    },
  };
}

/** The parts of a PublicKeyCredential read here (the DOM types are not assumed: a native bridge may answer the same shape). */
interface CredentialLike {
  id: string;
  rawId: ArrayBuffer;
  type: string;
  authenticatorAttachment?: string | null;
  response: {
    clientDataJSON: ArrayBuffer;
    attestationObject?: ArrayBuffer;
    getTransports?: () => string[];
    authenticatorData?: ArrayBuffer;
    signature?: ArrayBuffer;
    userHandle?: ArrayBuffer | null;
  };
  getClientExtensionResults?: () => { prf?: { enabled?: boolean; results?: { first?: ArrayBuffer | ArrayBufferView } } };
}

export interface CeremonyResult {
  /** The credential as JSON for the server (PublicKeyCredential.toJSON()'s form, without any PRF output). */
  json: string;
  /** The PRF output for the protocol's salt, when the authenticator gave one in this ceremony. */
  prfOutput: Uint8Array | undefined;
  /** The authenticator supports PRF (it may give its output only at a get()). */
  prfEnabled: boolean;
}

function resultOf(credential: CredentialLike, response: Record<string, unknown>): CeremonyResult {
  const prf = credential.getClientExtensionResults?.().prf;
  const first = prf?.results?.first;
  return {
    json: JSON.stringify({
      id: credential.id,
      rawId: toBase64Url(credential.rawId),
      type: credential.type,
      response,
      // PRF results are the key to the wallet: they never leave the device.
      clientExtensionResults: {},
      ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
    }),
    prfOutput: first === undefined ? undefined : first instanceof ArrayBuffer ? new Uint8Array(first) : new Uint8Array(first.buffer, first.byteOffset, first.byteLength).slice(),
    prfEnabled: prf?.enabled === true || first !== undefined,
  };
}

/** Runs create(): the registration response for the server, and PRF's output when there is one. */
export async function createCredential(credentials: WebAuthnCredentials | undefined, options: { publicKey: Record<string, unknown> }): Promise<CeremonyResult> {
  const credential = (await ceremony(credentials, (c) => c.create(options))) as CredentialLike;
  const { response } = credential;
  return resultOf(credential, {
    clientDataJSON: toBase64Url(response.clientDataJSON),
    attestationObject: toBase64Url(response.attestationObject!),
    transports: response.getTransports?.() ?? [],
  });
}

/** Runs get(): the assertion for the server, and PRF's output when there is one. */
export async function getAssertion(credentials: WebAuthnCredentials | undefined, options: { publicKey: Record<string, unknown> }): Promise<CeremonyResult> {
  const credential = (await ceremony(credentials, (c) => c.get(options))) as CredentialLike;
  const { response } = credential;
  return resultOf(credential, {
    clientDataJSON: toBase64Url(response.clientDataJSON),
    authenticatorData: toBase64Url(response.authenticatorData!),
    signature: toBase64Url(response.signature!),
    ...(response.userHandle ? { userHandle: toBase64Url(response.userHandle) } : {}),
  });
}

async function ceremony(credentials: WebAuthnCredentials | undefined, run: (c: WebAuthnCredentials) => Promise<unknown>): Promise<unknown> {
  if (!credentials) {
    throw new WalletSyncError(ClientErrorCode.PasskeyUnavailable, 'Passkeys need WebAuthn (navigator.credentials, or WalletSyncClientOptions.credentials)');
  }
  let credential: unknown;
  try {
    credential = await run(credentials);
  } catch (error) {
    const name = (error as { name?: string })?.name ?? 'Error';
    throw new WalletSyncError(ClientErrorCode.PasskeyUnavailable, `The passkey ceremony did not complete (${name}): the user or the authenticator declined it`);
  }
  if (!credential) throw new WalletSyncError(ClientErrorCode.PasskeyUnavailable, 'The passkey ceremony gave no credential');
  return credential;
}
