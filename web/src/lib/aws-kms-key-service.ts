// The KeyService port over AWS KMS (@aws-sdk/client-kms), signed with the person's own AWS
// credentials from the Cognito Identity Pool (lib/cognito-credentials.ts). The room is
// bound exactly as with the embedded key service: EncryptionContext {room_id} on both
// GenerateDataKey (KeySpec AES_256) and Decrypt, so a data key wrapped for one room
// unwraps for no other. The envelope's `edk` is the CiphertextBlob and its `kid` the key
// ARN KMS returns (docs/envelope.md). Caching stays in ClientKeyring; the plaintext goes
// into WebCrypto there and its bytes are wiped.
//
// What AWS KMS does not do, unlike the embedded key service: check that the caller is a
// member of the room on every unwrap (docs/aws.md). The IAM policy can only require that a
// room_id is present in the encryption context.

import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from "@aws-sdk/client-kms";

import { awsError, type AwsCredentials } from "@/lib/cognito-credentials";
import { ApiError } from "@/lib/errors";
import type { GeneratedDataKey, KeyService } from "@/lib/key-service";

/** The part of KMSClient used here (tests pass a fake send()). */
export interface KmsSender {
  send(command: GenerateDataKeyCommand | DecryptCommand): Promise<unknown>;
}

export interface AwsKmsOptions {
  region: string;
  credentials: () => Promise<AwsCredentials>;
  /** A stand-in for AWS KMS (a local moto server, say); null for AWS. */
  endpoint?: string | null;
  /** Called when AWS refused the credentials, so the next call fetches new ones. */
  onCredentialsRefused?: () => void;
  client?: KmsSender;
}

export class AwsKmsKeyService implements KeyService {
  private readonly client: KmsSender;

  constructor(private readonly options: AwsKmsOptions) {
    this.client =
      options.client ??
      new KMSClient({
        region: options.region,
        credentials: options.credentials,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      });
  }

  async generateDataKey(keyId: string, roomId: string): Promise<GeneratedDataKey> {
    const reply = (await this.call(
      () => new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", EncryptionContext: { room_id: roomId } }),
    )) as { KeyId?: string; Plaintext?: Uint8Array; CiphertextBlob?: Uint8Array };
    if (!reply.Plaintext || !reply.CiphertextBlob) throw new ApiError("kms_unavailable", "AWS KMS sent no data key");
    return { keyId: reply.KeyId ?? keyId, plaintext: reply.Plaintext, ciphertextBlob: reply.CiphertextBlob };
  }

  async decrypt(ciphertextBlob: Uint8Array, roomId: string): Promise<Uint8Array> {
    const reply = (await this.call(() => new DecryptCommand({ CiphertextBlob: ciphertextBlob, EncryptionContext: { room_id: roomId } }))) as {
      Plaintext?: Uint8Array;
    };
    if (!reply.Plaintext) throw new ApiError("kms_unavailable", "AWS KMS sent no plaintext");
    return reply.Plaintext;
  }

  /** One retry with fresh credentials when AWS says they expired. */
  private async call(command: () => GenerateDataKeyCommand | DecryptCommand): Promise<unknown> {
    try {
      return await this.client.send(command());
    } catch (error) {
      if (!isExpiredCredentials(error)) throw awsError(error, "AWS KMS");
    }
    this.options.onCredentialsRefused?.();
    try {
      return await this.client.send(command());
    } catch (error) {
      throw awsError(error, "AWS KMS");
    }
  }
}

function isExpiredCredentials(error: unknown): boolean {
  const name = error instanceof Error ? error.name : "";
  return name === "ExpiredTokenException" || name === "UnrecognizedClientException" || name === "InvalidSignatureException";
}
