// The product's browser upload client, transcribed from its documents (see
// issue 4 and issue 16): the file is cut into CHUNK_SIZE chunks; "start"
// (fileName, totalParts) creates the multipart upload and returns one
// presigned URL per part; the chunks are PUT straight to storage, 3 at a time,
// each retried with 1 s / 2 s / 4 s waits; each answer's ETag header is kept;
// "complete" (uploadId, s3Key, parts) assembles the object; on any failure
// "abort" (uploadId, s3Key) cleans up. No upload token: the product's client
// never had one (the service authorises by the key's user prefix).
//
// Changed from the documents, and nothing else: CHUNK_SIZE is raised to 5 MiB
// (S3's minimum part size), and the API's URL comes from the environment.
// Browser APIs only: fetch, Blob.slice (Node 18+ has both); the browser's File
// from an <input> is a Blob read from disk here.
//
//   HOIST_API_URL=http://127.0.0.1:8080/api/upload HOIST_TOKEN=... node upload.mjs FILE
//
// Prints the complete answer as one JSON line on success; on failure, the
// error on stderr and exit 1 (after the abort).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

const CHUNK_SIZE = 5 * 1024 * 1024;
const API_BASE_URL = process.env.HOIST_API_URL;
const AUTH_TOKEN = process.env.HOIST_TOKEN;
const MAX_CONCURRENT_UPLOADS = 3;
const RETRY_DELAYS_MS = [1000, 2000, 4000];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function callApi(body) {
  const response = await fetch(API_BASE_URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${AUTH_TOKEN}` },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = data.error?.message ?? data.error ?? response.statusText;
    throw new Error(`${body.action} failed: HTTP ${response.status} ${message}`);
  }
  return data;
}

// One chunk to its presigned URL, with retries; resolves with its ETag.
async function uploadChunk(url, chunk, partNumber) {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(url, { method: 'PUT', body: chunk });
      if (!response.ok) throw new Error(`part ${partNumber}: HTTP ${response.status}`);
      const etag = response.headers.get('ETag');
      if (!etag) throw new Error(`part ${partNumber}: no ETag header (is it exposed by the bucket's CORS rules?)`);
      return etag;
    } catch (error) {
      if (attempt >= RETRY_DELAYS_MS.length) throw error;
      await sleep(RETRY_DELAYS_MS[attempt]);
    }
  }
}

export async function uploadFile(file, fileName) {
  const totalParts = Math.max(1, Math.ceil(file.size / CHUNK_SIZE));
  const { uploadId, s3Key, presignedUrls } = await callApi({ action: 'start', fileName, totalParts });
  try {
    const parts = new Array(totalParts);
    let next = 0;
    let failed = false;   // one part out of retries: the others stop taking chunks
    const worker = async () => {
      while (!failed && next < totalParts) {
        const index = next++;
        const chunk = file.slice(index * CHUNK_SIZE, (index + 1) * CHUNK_SIZE);
        try {
          parts[index] = { PartNumber: index + 1, ETag: await uploadChunk(presignedUrls[index], chunk, index + 1) };
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(MAX_CONCURRENT_UPLOADS, totalParts) }, worker));
    return await callApi({ action: 'complete', uploadId, s3Key, parts });
  } catch (error) {
    await callApi({ action: 'abort', uploadId, s3Key }).catch(() => {});
    throw error;
  }
}

const path = process.argv[2];
if (!path || !API_BASE_URL || !AUTH_TOKEN) {
  console.error('usage: HOIST_API_URL=URL HOIST_TOKEN=TOKEN node upload.mjs FILE');
  process.exit(2);
}
try {
  const file = new Blob([await readFile(path)]);
  const result = await uploadFile(file, basename(path));
  console.log(JSON.stringify(result));
} catch (error) {
  console.error(`upload failed: ${error.message}`);
  process.exit(1);
}
