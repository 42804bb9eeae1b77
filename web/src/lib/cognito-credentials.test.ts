// AWS credentials from a Cognito Identity Pool against a fake at the send() level.

import { GetCredentialsForIdentityCommand, GetIdCommand } from "@aws-sdk/client-cognito-identity";
import { describe, expect, it } from "vitest";

import { IdentityPoolCredentials, type CognitoIdentitySender } from "@/lib/cognito-credentials";

class FakeIdentityPool implements CognitoIdentitySender {
  readonly calls: Array<GetIdCommand | GetCredentialsForIdentityCommand> = [];
  expiration = new Date(60 * 60 * 1000);

  async send(command: GetIdCommand | GetCredentialsForIdentityCommand): Promise<unknown> {
    this.calls.push(command);
    if (command instanceof GetIdCommand) return { IdentityId: "eu-west-1:identity" };
    return { IdentityId: "eu-west-1:identity", Credentials: { AccessKeyId: `AK${this.calls.length}`, SecretKey: "SK", SessionToken: "ST", Expiration: this.expiration } };
  }
}

function setUp(clock = { now: 0 }) {
  const pool = new FakeIdentityPool();
  const credentials = new IdentityPoolCredentials({
    region: "eu-west-1",
    userPoolId: "eu-west-1_pool",
    identityPoolId: "eu-west-1:ip",
    idToken: () => Promise.resolve("id-token"),
    client: pool,
    clock: () => clock.now,
  });
  return { pool, credentials, clock };
}

describe("IdentityPoolCredentials", () => {
  it("calls GetId then GetCredentialsForIdentity with the ID token under the user pool's logins key", async () => {
    const { pool, credentials } = setUp();
    const got = await credentials.get();
    expect(got).toMatchObject({ accessKeyId: "AK2", secretAccessKey: "SK", sessionToken: "ST" });
    const logins = { "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool": "id-token" };
    expect((pool.calls[0] as GetIdCommand).input).toEqual({ IdentityPoolId: "eu-west-1:ip", Logins: logins });
    expect((pool.calls[1] as GetCredentialsForIdentityCommand).input).toEqual({ IdentityId: "eu-west-1:identity", Logins: logins });
  });

  it("keeps the credentials until five minutes before they expire; concurrent callers share one fetch", async () => {
    const { pool, credentials, clock } = setUp();
    await Promise.all([credentials.get(), credentials.get(), credentials.get()]);
    expect(pool.calls).toHaveLength(2);
    clock.now = 50 * 60 * 1000;
    await credentials.get();
    expect(pool.calls).toHaveLength(2);
    clock.now = 56 * 60 * 1000;
    await credentials.get();
    expect(pool.calls).toHaveLength(3); // the identity id is kept: no second GetId
    credentials.clear();
    await credentials.get();
    expect(pool.calls.filter((c) => c instanceof GetIdCommand)).toHaveLength(2);
  });
});
