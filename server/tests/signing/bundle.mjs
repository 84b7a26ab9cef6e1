// An independent producer of sigstore bundles for Berth's tests: @sigstore/sign's DSSE bundle
// builder with a key-based signer (Node's crypto), no transparency log.
// Usage: node bundle.mjs <private key PEM file> <subject digest sha256:…> <predicate type>
// Prints the bundle (JSON) on stdout.
import { readFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { bundleToJSON } from '@sigstore/bundle';

const [keyFile, subject, predicateType] = process.argv.slice(2);
const key = createPrivateKey(readFileSync(keyFile));
const publicKey = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
const signer = {
  async sign(data) {
    // ECDSA and RSA sign a SHA-256 digest of the PAE; Ed25519 signs it as it is.
    const algorithm = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
    return { signature: sign(algorithm, data, key), key: { $case: 'publicKey', publicKey, hint: '' } };
  },
};
const statement = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'image', digest: { sha256: subject.replace(/^sha256:/, '') } }],
  predicateType,
  predicate: {},
};
const builder = new DSSEBundleBuilder({ signer, witnesses: [] });
const bundle = await builder.create({
  data: Buffer.from(JSON.stringify(statement)),
  type: 'application/vnd.in-toto+json',
});
process.stdout.write(JSON.stringify(bundleToJSON(bundle)));
