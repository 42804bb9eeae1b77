// Standard base64 with padding (RFC 4648 §4) in its canonical spelling only, as
// docs/envelope.md §2 requires: atob() alone is too lenient (missing padding, whitespace).

const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CHUNK = 0x8000;

export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let start = 0; start < bytes.length; start += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(start, start + CHUNK));
  }
  return btoa(binary);
}

/** The bytes of canonical base64, or null for any other spelling. */
export function decodeCanonicalBase64(value: string): Uint8Array | null {
  if (!CANONICAL.test(value)) return null;
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  // Nonzero unused bits ("QR==") decode fine but re-encode differently.
  return encodeBase64(bytes) === value ? bytes : null;
}
