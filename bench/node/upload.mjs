// bench/node/upload.mjs FILE BUCKET KEY ENDPOINT
// Uploads FILE with @aws-sdk/lib-storage's Upload at its defaults (5 MiB parts,
// queueSize 4, multipart above one part), as a web or node app would. Trusts the
// CA in NODE_EXTRA_CA_CERTS; credentials by the SDK's default chain (AWS_ACCESS_KEY_ID/
// AWS_SECRET_ACCESS_KEY, or the file AWS_SHARED_CREDENTIALS_FILE names, as bench/run does for RGW).
// One deviation from the SDK's defaults: requestChecksumCalculation
// "WHEN_REQUIRED". Since 3.729 the SDK sends CRC32 checksums by default, as
// aws-chunked bodies with a trailer; s3rver stores such a body with its chunk
// framing, so the byte-exact check would fail. Real S3 accepts both.
// Prints {"bytes","seconds","mb_per_s"} on stdout; exit 1 on failure.
import { createReadStream, statSync } from "node:fs";
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

const [file, bucket, key, endpoint] = process.argv.slice(2);
if (!endpoint) {
  console.error("usage: upload.mjs FILE BUCKET KEY ENDPOINT");
  process.exit(2);
}
const client = new S3Client({
  endpoint,
  region: process.env.AWS_REGION || "us-east-1",
  forcePathStyle: true,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});
const bytes = statSync(file).size;
const t0 = process.hrtime.bigint();
try {
  await new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file) } }).done();
} catch (e) {
  console.error(`lib-storage: ${e.name}: ${e.message}`);
  process.exit(1);
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ bytes, seconds, mb_per_s: bytes / 1e6 / seconds }));
