// The upload page: a sign-in form that trades a hoist token for the session
// cookie (POST /v1/session), then Uppy's Dashboard with hoist's uploader.
import { Uppy, Dashboard } from './vendor/uppy-6.0.1/uppy.min.mjs'
import HoistUploader from './hoist-uploader.mjs'

const $ = (id) => document.getElementById(id)

// The cookie is HttpOnly (the page cannot read it), so the page remembers who
// signed in and until when; a 401 from the service shows the form again.
const SESSION = 'hoist-session'

function remembered() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION) ?? 'null')
    return s && Date.parse(s.expiresAt) > Date.now() + 60_000 ? s : null
  } catch {
    return null
  }
}

function show(session) {
  $('sign-in').hidden = !!session
  $('uploader').hidden = !session
  $('who').hidden = $('sign-out').hidden = !session
  $('who').textContent = session ? `signed in as ${session.user}` : ''
  if (!session) $('token').focus()
}

$('sign-in').addEventListener('submit', async (e) => {
  e.preventDefault()
  $('sign-in-error').textContent = ''
  const token = $('token').value.trim()
  let res
  try {
    res = await fetch('/v1/session', { method: 'POST', credentials: 'same-origin', headers: { Authorization: `Bearer ${token}` } })
  } catch {
    $('sign-in-error').textContent = 'The service could not be reached.'
    return
  }
  const body = await res.json().catch(() => ({}))
  if (!res.ok) {
    $('sign-in-error').textContent = body.error?.message ?? `Sign-in failed (HTTP ${res.status}).`
    return
  }
  $('token').value = ''
  localStorage.setItem(SESSION, JSON.stringify({ user: body.user, expiresAt: body.expiresAt }))
  show(remembered())
})

$('sign-out').addEventListener('click', async () => {
  localStorage.removeItem(SESSION)
  await fetch('/v1/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => {})
  show(null)
})

const uppy = new Uppy({ autoProceed: false })
  .use(Dashboard, {
    inline: true,
    target: '#dashboard',
    width: '100%',
    height: 420,
    showProgressDetails: true,   // rate and time left in the status bar
    proudlyDisplayPoweredByUppy: false,
    note: 'Drop files here; large files go to storage in parts, several at a time.',
  })
  .use(HoistUploader, {
    // The JSON API's path as this service is configured (api_path).
    apiPath: document.querySelector('meta[name="hoist-api-path"]')?.content || '/v1/presigned-upload',
  })

function result(file, method, detail, failed) {
  const li = document.createElement('li')
  li.dataset.name = file.name
  li.dataset.method = method
  if (failed) li.className = 'failed'
  for (const [cls, text] of [['name', file.name], ['method', method], ['detail', detail]]) {
    const span = document.createElement('span')
    span.className = cls
    span.textContent = text
    li.append(span)
  }
  $('results').append(li)
}

uppy.on('hoist:method', (file, method, r) => result(file, method, r.key, false))
uppy.on('upload-error', (file, err) => {
  if (err?.status === 401) {
    localStorage.removeItem(SESSION)
    show(null)
    $('sign-in-error').textContent = 'The session has ended: sign in again, then retry.'
  }
  result(file, 'failed', err?.message ?? String(err), true)
})

globalThis.hoistUppy = uppy   // for the browser tests and the console
show(remembered())
