// Checksums of migration text: sha256 over the text with a BOM dropped and CRLF turned into LF.
import * as crypto from 'node:crypto';

export const CHECKSUM_ALGORITHM = 'sha256';

/** The text a checksum covers, so a Windows checkout (BOM, CRLF) is not drift. */
export function normalizeText(text: string): string {
  const withoutBom = text.startsWith('\uFEFF') ? text.slice(1) : text;
  return withoutBom.includes('\r') ? withoutBom.replace(/\r\n/g, '\n') : withoutBom;
}

// crypto.hash (Node 20.12 and later) digests a string in one call, without a Hash object per file.
const { hash } = crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string };
const digestHex = hash
  ? (text: string) => hash(CHECKSUM_ALGORITHM, text, 'hex')
  : (text: string) => crypto.createHash(CHECKSUM_ALGORITHM).update(text, 'utf8').digest('hex');

export function checksumText(text: string): string {
  return `${CHECKSUM_ALGORITHM}:${digestHex(normalizeText(text))}`;
}
