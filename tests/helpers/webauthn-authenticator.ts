import { createHash, createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { encodeCBOR, type CBORType } from '@levischuck/tiny-cbor';

/**
 * A passkey authenticator in software, for tests without a browser: it makes
 * real WebAuthn registration responses ("none" attestation, an ES256 key
 * made by node:crypto, the attestation object CBOR-encoded by tiny-cbor, the
 * CBOR library @simplewebauthn/server itself uses) and real assertions
 * (ECDSA over authenticatorData ‖ sha256(clientDataJSON)), so the server
 * verifies true signatures. It answers as PublicKeyCredential.toJSON() does.
 * What a test needs to break (another origin, no user verification, a
 * counter that does not advance, another challenge) is an option.
 */

export interface RegistrationJson {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment: 'platform';
}

export interface AssertionJson {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment: 'platform';
}

interface StoredCredential {
  id: string;
  rpId: string;
  userHandle: string;
  privateKey: KeyObject;
  counter: number;
  /** The PRF (hmac-secret) key of this credential. */
  prfKey: Buffer;
}

export interface CeremonyOptions {
  /** The page's origin the browser writes into clientDataJSON; the authenticator's default otherwise. */
  origin?: string;
  /** False: the UV flag stays off (a security key without a PIN). */
  userVerified?: boolean;
  /** Answer this challenge instead of the options' one. */
  challenge?: string;
  /** clientDataJSON.type; the right one otherwise. */
  type?: string;
}

export interface AssertionOptions extends CeremonyOptions {
  /** Sign with this credential (e.g. a discoverable one of another account), whatever allowCredentials says. */
  credentialId?: string;
  /** Report this sign counter instead of the next one. */
  counter?: number;
  /** Leave userHandle out, as an authenticator may for a non-discoverable sign-in. */
  withoutUserHandle?: boolean;
}

const b64url = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

export class SoftwareAuthenticator {
  private readonly credentials = new Map<string, StoredCredential>();

  /**
   * `counting`: true (a security key) starts its sign counter at 0 and counts
   * every assertion; false (a synced platform passkey) reports 0 every time.
   */
  constructor(
    readonly origin: string,
    private readonly counting = true,
  ) {}

  /** navigator.credentials.create() for the creation options JSON the server answered. */
  create(optionsJson: string, options: CeremonyOptions = {}): RegistrationJson {
    const creation = JSON.parse(optionsJson) as { challenge: string; rp: { id: string }; user: { id: string } };
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const credentialId = randomBytes(32);
    const id = b64url(credentialId);
    this.credentials.set(id, { id, rpId: creation.rp.id, userHandle: creation.user.id, privateKey, counter: 0, prfKey: randomBytes(32) });

    const jwk = publicKey.export({ format: 'jwk' });
    const coseKey = new Map<string | number, CBORType>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credentialId.length);
    const authData = Buffer.concat([
      this.authenticatorData(creation.rp.id, options.userVerified ?? true, 0, true),
      Buffer.alloc(16), // AAGUID: none
      idLength,
      credentialId,
      Buffer.from(encodeCBOR(coseKey)),
    ]);
    const attestationObject = encodeCBOR(
      new Map<string | number, CBORType>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: this.clientData(options.type ?? 'webauthn.create', options.challenge ?? creation.challenge, options.origin),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** navigator.credentials.get() for the request options JSON the server answered. */
  get(optionsJson: string, options: AssertionOptions = {}): AssertionJson {
    const request = JSON.parse(optionsJson) as { challenge: string; rpId: string; allowCredentials?: Array<{ id: string }> };
    const credential = this.pick(request.rpId, options.credentialId, request.allowCredentials);
    if (this.counting && options.counter === undefined) credential.counter += 1;
    const counter = options.counter ?? (this.counting ? credential.counter : 0);
    const authenticatorData = this.authenticatorData(request.rpId, options.userVerified ?? true, counter, false);
    const clientDataJSON = this.clientData(options.type ?? 'webauthn.get', options.challenge ?? request.challenge, options.origin);
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(Buffer.from(clientDataJSON, 'base64url'))]), credential.privateKey);
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON,
        authenticatorData: b64url(authenticatorData),
        signature: b64url(signature),
        ...(options.withoutUserHandle ? {} : { userHandle: credential.userHandle }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** The PRF extension's output for `salt`, as a browser hands it to the page (hmac-secret over sha256("WebAuthn PRF" ‖ 0 ‖ salt)). */
  prf(credentialId: string, salt: Uint8Array): Buffer {
    const credential = this.credentials.get(credentialId);
    if (!credential) throw new Error(`no credential ${credentialId}`);
    return createHmac('sha256', credential.prfKey).update(sha256(Buffer.concat([Buffer.from('WebAuthn PRF\0'), salt]))).digest();
  }

  get credentialIds(): string[] {
    return [...this.credentials.keys()];
  }

  private pick(rpId: string, credentialId: string | undefined, allowed: Array<{ id: string }> | undefined): StoredCredential {
    const candidates = [...this.credentials.values()].filter((c) => c.rpId === rpId);
    const wanted = credentialId ?? (allowed?.length ? allowed.map((a) => a.id).find((id) => this.credentials.has(id)) : candidates.at(-1)?.id);
    const credential = wanted === undefined ? undefined : this.credentials.get(wanted);
    if (!credential) throw new Error('NotAllowedError: the authenticator holds no credential for these options');
    return credential;
  }

  private authenticatorData(rpId: string, userVerified: boolean, counter: number, attested: boolean): Buffer {
    // UP always; UV when verified; BE/BS (backed up) as a synced passkey reports; AT when credential data follows.
    const flags = 0x01 | (userVerified ? 0x04 : 0) | (this.counting ? 0 : 0x18) | (attested ? 0x40 : 0);
    const signCount = Buffer.alloc(4);
    signCount.writeUInt32BE(counter);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), signCount]);
  }

  private clientData(type: string, challenge: string, origin = this.origin): string {
    return b64url(Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false })));
  }
}
