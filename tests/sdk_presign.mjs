// Presigns S3 URLs with the official AWS SDK for JavaScript v3, the reference
// that tests/sdk_presign_test.cpp holds `hoist presign` to.
//
//   node tests/sdk_presign.mjs [--raw] < cases.json
//
// stdin: a JSON array of cases
//   {bucket, key, method: "GET"|"PUT", expires, endpoint: URL or null for AWS,
//    region, forcePathStyle, date: ISO 8601, uploadId?, partNumber?,
//    accessKeyId, secretAccessKey, sessionToken?}
// (uploadId and partNumber make an UploadPart, which must be PUT).
// stdout: a JSON array with one presigned URL per case, in order.
//
// The SDK is the one pinned by tools/node/package-lock.json (tools/install-deps
// installs it). Exit status 3 with a message on stderr when it is missing,
// 1 for any other failure.
//
// What the SDK signs beyond what hoist signs, and how this script aligns it.
// Out of the box, getSignedUrl (with the checksum options below) adds two
// query parameters that hoist does not, and both are covered by its signature,
// so they cannot simply be dropped from its URL afterwards:
//   x-id=GetObject|PutObject|UploadPart   part of the operation's URI template in
//       the S3 model ("/{Key+}?x-id=GetObject"), an operation hint S3 ignores;
//   X-Amz-Content-Sha256=UNSIGNED-PAYLOAD the payload hash, which S3RequestPresigner
//       sets as a header and SignatureV4 hoists into the query like any x-amz-*.
// Both are optional for a presigned URL: without X-Amz-Content-Sha256, S3 takes
// the payload of a presigned request as UNSIGNED-PAYLOAD, which is what the
// signature is computed over either way. So, by default, this script asks the
// SDK to sign the request without them, and the SDK's own signer still computes
// the signature that the test compares:
//   - a build-step middleware deletes the x-id query parameter after the SDK's
//     serializer has built the request (it fails if x-id is not the command's
//     name, so nothing else can be removed that way);
//   - getSignedUrl gets unhoistableHeaders + unsignableHeaders for
//     x-amz-content-sha256: the header stays a header, is not signed, and is not
//     in the URL; the payload hash stays UNSIGNED-PAYLOAD.
// --raw skips both and prints getSignedUrl's URLs as they come (the test checks
// that they differ from the aligned ones only by those two parameters and the
// signature).
// The client is configured with requestChecksumCalculation and
// responseChecksumValidation "WHEN_REQUIRED": with the defaults ("WHEN_SUPPORTED")
// the SDK adds x-amz-checksum-mode=ENABLED to GetObject and a CRC32 of an empty
// body (x-amz-checksum-crc32, x-amz-sdk-checksum-algorithm) to PutObject and
// UploadPart, which would be wrong for any real body.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const raw = process.argv.includes("--raw");
const nodeDir = new URL("../tools/node/", import.meta.url);
const require = createRequire(new URL("package.json", nodeDir));

let S3Client, GetObjectCommand, PutObjectCommand, UploadPartCommand, getSignedUrl;
try {
  ({ S3Client, GetObjectCommand, PutObjectCommand, UploadPartCommand } = require("@aws-sdk/client-s3"));
  ({ getSignedUrl } = require("@aws-sdk/s3-request-presigner"));
} catch (e) {
  process.stderr.write(
    `sdk_presign: the AWS SDK for JavaScript v3 is not installed in ${nodeDir.pathname}node_modules ` +
      `(${e.code ?? e.message}); run tools/install-deps\n`,
  );
  process.exit(3);
}

const required = ["bucket", "key", "method", "expires", "region", "forcePathStyle", "date", "accessKeyId", "secretAccessKey"];

function commandFor(c) {
  const input = { Bucket: c.bucket, Key: c.key };
  if (c.uploadId != null || c.partNumber != null) {
    if (c.method !== "PUT") throw new Error("an UploadPart case must be PUT");
    if (c.uploadId == null || c.partNumber == null) throw new Error("uploadId and partNumber go together");
    return { command: new UploadPartCommand({ ...input, UploadId: c.uploadId, PartNumber: c.partNumber }), name: "UploadPart" };
  }
  if (c.method === "GET") return { command: new GetObjectCommand(input), name: "GetObject" };
  if (c.method === "PUT") return { command: new PutObjectCommand(input), name: "PutObject" };
  throw new Error(`unsupported method ${JSON.stringify(c.method)}`);
}

async function presign(c, index) {
  for (const field of required)
    if (c[field] === undefined) throw new Error(`case ${index}: "${field}" is missing`);
  const date = new Date(c.date);
  if (Number.isNaN(date.getTime())) throw new Error(`case ${index}: bad date ${JSON.stringify(c.date)}`);

  const client = new S3Client({
    region: c.region,
    ...(c.endpoint != null ? { endpoint: c.endpoint } : {}),
    forcePathStyle: c.forcePathStyle,
    credentials: {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken != null ? { sessionToken: c.sessionToken } : {}),
    },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const { command, name } = commandFor(c);
  const options = { expiresIn: c.expires, signingDate: date };

  if (!raw) {
    client.middlewareStack.add(
      (next) => async (args) => {
        const query = args.request?.query;
        if (query && "x-id" in query) {
          if (query["x-id"] !== name) throw new Error(`case ${index}: unexpected x-id=${query["x-id"]} for ${name}`);
          delete query["x-id"];
        }
        return next(args);
      },
      { step: "build", name: "hoistDropXIdMiddleware", priority: "low" },
    );
    options.unhoistableHeaders = new Set(["x-amz-content-sha256"]);
    options.unsignableHeaders = new Set(["x-amz-content-sha256"]);
  }
  try {
    return await getSignedUrl(client, command, options);
  } finally {
    client.destroy();
  }
}

try {
  const cases = JSON.parse(readFileSync(0, "utf8"));
  if (!Array.isArray(cases)) throw new Error("stdin must be a JSON array of cases");
  const urls = [];
  for (const [i, c] of cases.entries()) urls.push(await presign(c, i));
  process.stdout.write(JSON.stringify(urls) + "\n");
} catch (e) {
  process.stderr.write(`sdk_presign: ${e?.stack ?? e}\n`);
  process.exit(1);
}
