// Signs S3 POST policy forms with the official AWS SDK for JavaScript v3
// (@aws-sdk/s3-presigned-post's createPresignedPost), the reference that
// tests/sdk_presign_post_test.cpp holds `hoist presign --post` to.
//
//   node tests/sdk_presign_post.mjs < cases.json
//
// stdin: a JSON array of cases
//   {bucket, key, region, endpoint: URL or null for AWS, forcePathStyle,
//    date: ISO 8601 (whole seconds), expires: seconds,
//    conditions: [...] (the SDK's Conditions, as JSON), fields: {name: value},
//    accessKeyId, secretAccessKey, sessionToken?,
//    otherPolicy?: a base64 policy signed by someone else}
// stdout: a JSON array, one {url, fields, otherSignature?} per case, in order:
// url and fields as createPresignedPost returns them; otherSignature is
// otherPolicy signed with the SDK's own SigV4 key derivation and HMAC
// (@smithy/signature-v4's getSigningKey, the SDK's sha256), the way
// createPresignedPost signs its own policy.
//
// createPresignedPost takes no signing date: it reads Date.now() (plus the
// client's systemClockOffset, 0 here). Date.now is replaced by a function
// returning the case's date while the call runs, and restored after, so the
// SDK signs at exactly the date hoist is given.
//
// The SDK is the one pinned by tools/node/package-lock.json (tools/install-deps
// installs it). Exit status 3 with a message on stderr when it is missing,
// 1 for any other failure.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const nodeDir = new URL("../tools/node/", import.meta.url);
const require = createRequire(new URL("package.json", nodeDir));

let S3Client, createPresignedPost, getSigningKey;
try {
  ({ S3Client } = require("@aws-sdk/client-s3"));
  ({ createPresignedPost } = require("@aws-sdk/s3-presigned-post"));
  // The SDK's own key derivation, resolved from the presigned-post package as
  // it resolves it.
  const postRequire = createRequire(require.resolve("@aws-sdk/s3-presigned-post"));
  ({ getSigningKey } = postRequire("@smithy/signature-v4"));
} catch (e) {
  process.stderr.write(
    `sdk_presign_post: @aws-sdk/s3-presigned-post is not installed in ${nodeDir.pathname}node_modules ` +
      `(${e.code ?? e.message}); run tools/install-deps\n`,
  );
  process.exit(3);
}

const required = ["bucket", "key", "region", "forcePathStyle", "date", "expires", "conditions", "fields",
                  "accessKeyId", "secretAccessKey"];

async function withClock(ms, f) {
  const realNow = Date.now;
  Date.now = () => ms;
  try {
    return await f();
  } finally {
    Date.now = realNow;
  }
}

async function sign(c, index) {
  for (const field of required)
    if (c[field] === undefined) throw new Error(`case ${index}: "${field}" is missing`);
  const ms = Date.parse(c.date);
  if (Number.isNaN(ms) || ms % 1000 !== 0) throw new Error(`case ${index}: bad date ${JSON.stringify(c.date)}`);
  const credentials = {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    ...(c.sessionToken != null ? { sessionToken: c.sessionToken } : {}),
  };
  const client = new S3Client({
    region: c.region,
    ...(c.endpoint != null ? { endpoint: c.endpoint } : {}),
    forcePathStyle: c.forcePathStyle,
    credentials,
    systemClockOffset: 0,
  });
  try {
    const out = await withClock(ms, () =>
      createPresignedPost(client, {
        Bucket: c.bucket,
        Key: c.key,
        Conditions: c.conditions,
        Fields: c.fields,
        Expires: c.expires,
      }),
    );
    if (c.otherPolicy != null) {
      const day = c.date.slice(0, 10).replace(/-/g, "");
      const { sha256 } = client.config;
      const key = await getSigningKey(sha256, credentials, day, c.region, "s3");
      const hash = new sha256(key);
      hash.update(new TextEncoder().encode(c.otherPolicy));
      out.otherSignature = Buffer.from(await hash.digest()).toString("hex");
    }
    return out;
  } finally {
    client.destroy();
  }
}

try {
  const cases = JSON.parse(readFileSync(0, "utf8"));
  if (!Array.isArray(cases)) throw new Error("stdin must be a JSON array of cases");
  const out = [];
  for (const [i, c] of cases.entries()) out.push(await sign(c, i));
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (e) {
  process.stderr.write(`sdk_presign_post: ${e?.stack ?? e}\n`);
  process.exit(1);
}
