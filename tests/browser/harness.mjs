// The browser tests' plumbing: child processes (tools/s3rver-local,
// tools/rgw-local, `hoist serve`), a bucket's CORS rules and reading an
// object back with the AWS SDK, chromium through playwright-core. Every wait
// is bounded; every child is stopped (SIGTERM, then SIGKILL) when the run ends.
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent } from 'node:https'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const nodeDir = new URL('../../tools/node/', import.meta.url)
const require = createRequire(new URL('package.json', nodeDir))

// The pinned packages in tools/node (tools/install-deps installs them).
export async function load(name) {
  let path
  try {
    path = require.resolve(name)
  } catch {
    throw new Error(`${name} is not installed in tools/node (run tools/install-deps)`)
  }
  return import(pathToFileURL(path).href)
}

export const sha256 = (buf) => createHash('sha256').update(buf).digest('hex')
export const MiB = 1024 * 1024

const children = new Set()

// Stops every child this run started (their own process ids only).
export async function stopAll() {
  await Promise.all([...children].map((c) => stop(c)))
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(t)
  children.delete(child)
}

function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  children.add(child)
  child.once('exit', () => children.delete(child))
  child.log = ''
  child.stderr.on('data', (d) => { child.log += d; if (child.log.length > 200_000) child.log = child.log.slice(-100_000) })
  return child
}

// Starts tools/s3rver-local or tools/rgw-local and waits (at most
// `timeoutMs`) for its HOIST_S3_READY=1 line; answers its KEY=VALUE lines.
export async function startStore(script, args, timeoutMs) {
  const child = start(script, args)
  const env = await new Promise((resolve, reject) => {
    let out = ''
    const fail = (why) => reject(new Error(`${script}: ${why}\n${child.log.slice(-3000)}`))
    const t = setTimeout(() => fail(`not ready within ${timeoutMs / 1000} s`), timeoutMs)
    child.stdout.on('data', (d) => {
      out += d
      if (!/^HOIST_S3_READY=1$/m.test(out)) return
      clearTimeout(t)
      resolve(Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])))
    })
    child.once('exit', (code) => { clearTimeout(t); fail(`exited with status ${code}`) })
  })
  return { child, env }
}

// Reads the access key and secret from an AWS shared credentials file.
export function readCredentials(file) {
  const text = readFileSync(file, 'utf8')
  const get = (k) => text.match(new RegExp(`^${k}\\s*=\\s*(.+)$`, 'm'))?.[1].trim()
  return { accessKeyId: get('aws_access_key_id'), secretAccessKey: get('aws_secret_access_key') }
}

// A store the tests use: its endpoint, CA, credentials and an SDK client.
export async function storeClient({ endpoint, ca, credentials, bucket }) {
  const { S3Client } = await load('@aws-sdk/client-s3')
  const { NodeHttpHandler } = await load('@smithy/node-http-handler')
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: readFileSync(ca) }) }),
  })
  return { endpoint, ca, credentials, bucket, client, origin: new URL(endpoint).origin }
}

// The bucket's CORS rules for the page's origin, as the README gives them:
// the methods Uppy and hoist's page use, any request header, ETag exposed
// (without it a browser cannot read a part's ETag, and Complete needs them).
export async function allowOrigin(store, origin) {
  const { PutBucketCorsCommand } = await load('@aws-sdk/client-s3')
  await store.client.send(new PutBucketCorsCommand({
    Bucket: store.bucket,
    CORSConfiguration: {
      CORSRules: [{
        AllowedOrigins: [origin],
        AllowedMethods: ['PUT', 'POST', 'GET', 'DELETE', 'HEAD'],
        AllowedHeaders: ['*'],
        ExposeHeaders: ['ETag'],
        MaxAgeSeconds: 600,
      }],
    },
  }))
}

// The object's bytes, read back with the SDK.
export async function readObject(store, key) {
  const { GetObjectCommand } = await load('@aws-sdk/client-s3')
  const r = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }))
  return Buffer.from(await r.Body.transformToByteArray())
}

export const tokens = { alice: 'browser-test-token-alice', bob: 'browser-test-token-bob' }

// Starts `hoist serve` on 127.0.0.1 (a free port) in front of `store`, with
// users alice and bob, 5 MiB parts. Answers {origin, child}.
export async function startService(hoist, store, dir, name) {
  const config = {
    listen: '127.0.0.1:0',
    storage: {
      endpoint: store.endpoint,
      region: 'us-east-1',
      bucket: store.bucket,
      path_style: true,
      ca_bundle: store.ca,
      access_key_id: store.credentials.accessKeyId,
      secret_access_key: store.credentials.secretAccessKey,
    },
    token_secret: randomBytes(32).toString('hex'),
    tokens: Object.entries(tokens).map(([user, t]) => ({ sha256: sha256(t), user })),
    part_size: 5 * MiB,
  }
  const file = join(dir, `${name}.json`)
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 })
  const child = start(hoist, ['serve', '--config', file])
  const origin = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`hoist serve (${name}) did not listen within 15 s:\n${child.log}`)), 15_000)
    child.stderr.on('data', () => {
      const m = child.log.match(/listening on (https?:\/\/\S+?:\d+)\/?\s/)   // whole line: stderr arrives in pieces
      if (m) { clearTimeout(t); resolve(m[1]) }
    })
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`hoist serve (${name}) exited with ${code}:\n${child.log}`)) })
  })
  return { origin, child, name }
}

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'hoist-browser-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

// A file of `size` random bytes in `dir`; answers {path, name, bytes}.
export function makeFile(dir, name, size) {
  const bytes = randomBytes(size)
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return { path, name, bytes }
}

export async function launchChromium() {
  const pw = await load('playwright-core')
  const chromium = pw.chromium ?? pw.default.chromium   // CommonJS: named exports may be missing
  return chromium.launch({
    executablePath: process.env.HOIST_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    // Root in a container has no user namespace for chromium's sandbox; a
    // container's /dev/shm is often 64 MB, too small for chromium's shared memory.
    args: ['--disable-dev-shm-usage', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
    timeout: 30_000,
  })
}
