import type { WebAuthnCredentials } from 'wallet-sync-client';
import type { SoftwareAuthenticator } from '../../../tests/helpers/webauthn-authenticator';

/**
 * navigator.credentials for Node tests: the server tests' software
 * authenticator behind the shape a browser has (options with ArrayBuffers in,
 * PublicKeyCredential-like objects out), with a PRF extension that answers at
 * create() and get() ('create', as Chromium does), only at get() ('get', as
 * some browsers do), or never ('none').
 */
export function softwareCredentials(authenticator: SoftwareAuthenticator, prf: 'create' | 'get' | 'none' = 'create'): WebAuthnCredentials {
  const b64 = (data: ArrayBuffer | Uint8Array) => Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString('base64url');
  const buf = (text: string) => new Uint8Array(Buffer.from(text, 'base64url')).buffer;
  const saltOf = (publicKey: Record<string, any>) => publicKey.extensions?.prf?.eval?.first as Uint8Array | undefined;
  const extensions = (id: string, salt: Uint8Array | undefined, answers: boolean) => () =>
    prf === 'none' ? {} : { prf: { enabled: true, ...(answers && salt ? { results: { first: authenticator.prf(id, salt).buffer } } : {}) } };

  return {
    async create({ publicKey }: { publicKey: Record<string, any> }) {
      const json = JSON.stringify({ challenge: b64(publicKey.challenge), rp: publicKey.rp, user: { ...publicKey.user, id: b64(publicKey.user.id) } });
      const made = authenticator.create(json);
      return {
        id: made.id,
        rawId: buf(made.rawId),
        type: made.type,
        authenticatorAttachment: made.authenticatorAttachment,
        response: {
          clientDataJSON: buf(made.response.clientDataJSON),
          attestationObject: buf(made.response.attestationObject),
          getTransports: () => made.response.transports,
        },
        getClientExtensionResults: extensions(made.id, saltOf(publicKey), prf === 'create'),
      };
    },
    async get({ publicKey }: { publicKey: Record<string, any> }) {
      const allowCredentials = (publicKey.allowCredentials as Array<{ id: ArrayBuffer; type: string }> | undefined)?.map((d) => ({ ...d, id: b64(d.id) }));
      const json = JSON.stringify({ challenge: b64(publicKey.challenge), rpId: publicKey.rpId, ...(allowCredentials ? { allowCredentials } : {}) });
      const signed = authenticator.get(json);
      return {
        id: signed.id,
        rawId: buf(signed.rawId),
        type: signed.type,
        authenticatorAttachment: signed.authenticatorAttachment,
        response: {
          clientDataJSON: buf(signed.response.clientDataJSON),
          authenticatorData: buf(signed.response.authenticatorData),
          signature: buf(signed.response.signature),
          userHandle: signed.response.userHandle ? buf(signed.response.userHandle) : null,
        },
        getClientExtensionResults: extensions(signed.id, saltOf(publicKey), true),
      };
    },
  };
}
