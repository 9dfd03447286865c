// The login form: POST /api/login as JSON, then to the overview.
const form = document.getElementById('login-form');
const error = document.getElementById('login-error');
const submit = document.getElementById('login-submit');

function show(message) {
  error.textContent = message;
  error.hidden = false;
}

async function login(event) {
  event.preventDefault();
  error.hidden = true;
  submit.disabled = true;
  try {
    const res = await fetch('/api/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: form.elements.name.value, password: form.elements.password.value }),
    });
    if (res.ok) {
      window.location.replace('/');
      return;
    }
    if (res.status === 429) {
      const wait = Number(res.headers.get('retry-after') ?? '60');
      show(`Too many failed attempts. Try again in ${Math.ceil(wait / 60)} min.`);
    } else if (res.status === 401) {
      show('Wrong name or password.');
    } else {
      show(`Login failed (HTTP ${res.status}).`);
    }
  } catch {
    show('The server cannot be reached.');
  } finally {
    submit.disabled = false;
  }
}

form.addEventListener('submit', (event) => void login(event));
