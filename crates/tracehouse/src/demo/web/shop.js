// The demo shop's pages. The tracehouse browser SDK comes from the tracehouse server (the shop
// works without it). `?tour=1` runs a scripted visit, as `tracehouse demo` does in headless
// Chromium: add two items, go to checkout, order, try a coupon (which fails), then report.
const API = '__TRACEHOUSE_API__';
const OTLP = '__TRACEHOUSE_OTLP__';

const sdk = await import(`${API}/sdk/tracehouse-replay.min.js`).catch((e) => {
  console.warn('tracehouse SDK not loaded:', e);
  return null;
});
const th = sdk?.init({ endpoint: OTLP, serviceName: 'shop-web', environment: 'demo', replay: sdk.replay({ flushIntervalMs: 2000 }) });

const $ = (id) => document.getElementById(id);
const status = (text) => ($('status').textContent = text);
const cart = () => Number(sessionStorage.getItem('shop.cart') ?? 0);
const showCart = () => ($('cart').textContent = String(cart()));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(method, path, body) {
  const res = await fetch(path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${json.error ?? res.status}`);
  return json;
}

async function home() {
  const { items } = await api('GET', '/api/items');
  $('items').replaceChildren(
    ...items.map((item) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.sku = item.sku;
      button.textContent = `Add ${item.name} (${(item.price / 100).toFixed(2)} €)`;
      button.addEventListener('click', async () => {
        const added = await api('POST', `/api/cart/${item.sku}`);
        sessionStorage.setItem('shop.cart', String(cart() + 1));
        showCart();
        console.log(`added ${added.name} to the cart`);
        status(`${added.name} added`);
      });
      li.append(button);
      return li;
    }),
  );
}

function checkout() {
  $('order').addEventListener('click', async () => {
    const { order } = await api('POST', '/api/orders', { items: cart() });
    console.info(`order ${order} placed`);
    status(`Order ${order} placed, thank you!`);
  });
  $('coupon').addEventListener('click', async () => {
    status('Checking the coupon…');
    // Not caught: an unhandled rejection the SDK records as a browser error.
    await api('POST', '/api/coupons');
  });
}

async function tour(page) {
  const click = async (selector) => {
    document.querySelector(selector).click();
    await sleep(800);
  };
  await sleep(500);
  if (page === 'home') {
    await click('button[data-sku=tea]');
    await click('button[data-sku=mug]');
    await th?.flush();
    $('to-checkout').click();
  } else {
    await click('#order');
    await click('#coupon');
    await sleep(500);
    await th?.flush();
    sessionStorage.removeItem('shop.tour');
    await fetch('/tour/done', { method: 'POST' });
  }
}

const page = document.body.dataset.page;
showCart();
if (page === 'home') await home();
else checkout();
if (new URLSearchParams(location.search).has('tour')) sessionStorage.setItem('shop.tour', '1');
if (sessionStorage.getItem('shop.tour')) await tour(page);
