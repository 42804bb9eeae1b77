// AWS credentials for the signed-in person from a Cognito Identity Pool (the original
// design): GetId, then GetCredentialsForIdentity, both with the person's Cognito ID token
// under the logins key `cognito-idp.{region}.amazonaws.com/{user pool id}`. The
// credentials are the identity pool's authenticated role: the AWS KMS key service signs
// its calls with them. Kept until five minutes before they expire.

import { CognitoIdentityClient, GetCredentialsForIdentityCommand, GetIdCommand } from "@aws-sdk/client-cognito-identity";

import { ApiError } from "@/lib/errors";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** The part of CognitoIdentityClient used here (tests pass a fake send()). */
export interface CognitoIdentitySender {
  send(command: GetIdCommand | GetCredentialsForIdentityCommand): Promise<unknown>;
}

export interface IdentityPoolOptions {
  region: string;
  userPoolId: string;
  identityPoolId: string;
  /** The Cognito ID token of the signed-in person, fresh. */
  idToken: () => Promise<string>;
  /** A stand-in for Cognito Identity (a local moto server, say); null for AWS. */
  endpoint?: string | null;
  client?: CognitoIdentitySender;
  clock?: () => number;
}

const EARLY_MS = 5 * 60 * 1000;

export class IdentityPoolCredentials {
  private readonly client: CognitoIdentitySender;
  private readonly clock: () => number;
  private identityId: string | null = null;
  private current: AwsCredentials | null = null;
  private pending: Promise<AwsCredentials> | null = null;
  /** Renew this long before expiry: five minutes, or half the lifetime of short ones. */
  private early = EARLY_MS;

  constructor(private readonly options: IdentityPoolOptions) {
    this.client =
      options.client ?? new CognitoIdentityClient({ region: options.region, ...(options.endpoint ? { endpoint: options.endpoint } : {}) });
    this.clock = options.clock ?? Date.now;
  }

  /** The logins key of a Cognito user pool in an identity pool. */
  get loginsKey(): string {
    return `cognito-idp.${this.options.region}.amazonaws.com/${this.options.userPoolId}`;
  }

  /** Credentials with at least five minutes left; concurrent callers share one fetch. */
  get(): Promise<AwsCredentials> {
    const current = this.current;
    if (current && (!current.expiration || current.expiration.getTime() - this.clock() > this.early)) return Promise.resolve(current);
    this.pending ??= this.fetch().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  /** Forget the credentials (sign-out, or AWS refused them). */
  clear(): void {
    this.current = null;
    this.identityId = null;
  }

  private async fetch(): Promise<AwsCredentials> {
    const logins = { [this.loginsKey]: await this.options.idToken() };
    try {
      if (!this.identityId) {
        const reply = (await this.client.send(new GetIdCommand({ IdentityPoolId: this.options.identityPoolId, Logins: logins }))) as {
          IdentityId?: string;
        };
        if (!reply.IdentityId) throw new ApiError("kms_unavailable", "Cognito Identity sent no identity id");
        this.identityId = reply.IdentityId;
      }
      const reply = (await this.client.send(new GetCredentialsForIdentityCommand({ IdentityId: this.identityId, Logins: logins }))) as {
        Credentials?: { AccessKeyId?: string; SecretKey?: string; SessionToken?: string; Expiration?: Date };
      };
      const c = reply.Credentials;
      if (!c?.AccessKeyId || !c.SecretKey) throw new ApiError("kms_unavailable", "Cognito Identity sent no credentials");
      const fetched = this.clock();
      if (c.Expiration) this.early = Math.min(EARLY_MS, (c.Expiration.getTime() - fetched) / 2);
      this.current = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken, expiration: c.Expiration };
      return this.current;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw awsError(error, "Cognito Identity");
    }
  }
}

/** An AWS SDK error as the SDK's ApiError: refusals are access_denied, the rest unavailable. */
export function awsError(error: unknown, service: string): ApiError {
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode ?? null;
  if (name === "InvalidCiphertextException" || name === "IncorrectKeyException") return new ApiError("invalid_ciphertext", message, status);
  if (
    name === "AccessDeniedException" ||
    name === "NotAuthorizedException" ||
    name === "NotFoundException" ||
    name === "DisabledException" ||
    name === "KMSInvalidStateException" ||
    name === "InvalidGrantTokenException"
  ) {
    return new ApiError("access_denied", `${service}: ${message}`, status);
  }
  return new ApiError("kms_unavailable", `${service} is unavailable: ${message}`, status);
}
