// SBW Computer, the demo shop: rendering, cart and the analytics calls.
// Plain JavaScript; every page includes config.js, sbw.min.js and this file, which
// fetches the catalogue (catalog.json, the same file the simulated shoppers read).
(function () {
  'use strict';

  const CART_KEY = 'demo_shop_cart';
  const USER_KEY = 'demo_shop_user';
  const LAST_ORDER_KEY = 'demo_shop_last_order';

  // ---------------------------------------------------------------- analytics

  const config = window.SBW_CONFIG || {};
  const sbw = window.sbw;

  /** A demo ID token: unsigned, accepted only by `sbwctl dev ingest --dev-accept-unverified-jwt`. */
  function demoIdToken() {
    const user = localStorage.getItem(USER_KEY);
    if (!user) return null;
    const encode = (value) => btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    const exp = Math.floor(Date.now() / 1000) + 3600;
    return encode({ alg: 'none', typ: 'JWT' }) + '.' + encode({ sub: user, token_use: 'id', exp }) + '.';
  }

  sbw.init({
    endpoint: config.endpoint,
    siteKey: config.siteKey,
    batchSize: config.batchSize,
    flushInterval: config.flushInterval,
    respectGlobalPrivacyControl: true,
    getIdToken: demoIdToken,
  });

  // The page view is recorded at once (above); the page itself waits for the catalogue.
  fetch('catalog.json')
    .then((response) => {
      if (!response.ok) throw new Error('catalog.json: HTTP ' + response.status);
      return response.json();
    })
    .then(start, (error) => {
      document.querySelector('#main').textContent = 'The catalogue could not be loaded (' + error.message + ').';
      throw error;
    });

  function start(catalog) {
    const CURRENCY = catalog.currency;

    // Clicks on marked elements (banners, tiles, product cards): data-track names the target.
    // A product of a list (data-list, data-position) is a product click, which with the list's
    // impressions gives the product's click-through rate.
    document.addEventListener('click', (event) => {
      const element = event.target.closest('[data-track]');
      if (!element) return;
      const { track, productId, list, position } = element.dataset;
      if (productId) sbw.clickProduct({ product_id: productId, category: productById(productId).category }, list, Number(position), { target: track });
      else sbw.click({ target: track });
    });

    // ---------------------------------------------------------------- helpers

    const money = new Intl.NumberFormat('vi-VN', { style: 'currency', currency: CURRENCY, maximumFractionDigits: 0 });
    const formatPrice = (amount) => money.format(amount);
    const params = new URLSearchParams(location.search);
    const $ = (selector) => document.querySelector(selector);
    const productById = (id) => catalog.products.find((product) => product.id === id);
    const categoryById = (id) => catalog.categories.find((category) => category.id === id);

    function html(strings, ...values) {
      return strings.reduce((out, part, i) => out + part + (i < values.length ? values[i] : ''), '');
    }

    function escapeHtml(text) {
      return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
    }

    const ICONS = {
      laptops: '<path d="M10 16h44v28H10z" /><path d="M4 48h56l-4 6H8z" />',
      monitors: '<path d="M6 10h52v34H6z" /><path d="M26 44h12v8H26zM18 54h28" />',
      keyboards: '<path d="M4 20h56v26H4z" /><path d="M11 27h4M19 27h4M27 27h4M35 27h4M43 27h4M51 27h2M11 33h4M19 33h4M27 33h4M35 33h4M43 33h4M17 39h30" />',
      'mice-pads': '<path d="M22 10c-7 0-10 7-10 16v12c0 10 7 16 20 16s20-6 20-16V26c0-9-3-16-10-16z" /><path d="M32 10v14" />',
      headphones: '<path d="M12 40V30a20 20 0 0 1 40 0v10" /><path d="M8 38h10v16H8zM46 38h10v16H46z" />',
      accessories: '<path d="M14 22h26v20H14z" /><path d="M40 28h8v8h-8zM48 30h8M48 34h8M20 42v8M34 42v8" />',
    };

    function productArt(product, size) {
      return html`<div class="art art-${product.category} ${size || ''}" aria-hidden="true">
        <svg viewBox="0 0 64 64" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round">${ICONS[product.category]}</svg>
      </div>`;
    }

    function stars(rating) {
      return html`<span class="rating" title="${rating} out of 5">★ ${rating.toFixed(1)}</span>`;
    }

    /** A product card at `position` (from 1) of the product list named `list`. */
    function productCard(product, list, position) {
      const inList = html`data-product-id="${product.id}" data-list="${list}" data-position="${position}"`;
      return html`<article class="card">
        <a class="card-link" href="product.html?id=${product.id}" data-track="product-card" ${inList}>
          ${productArt(product)}
          <h3>${escapeHtml(product.name)}</h3>
        </a>
        <p class="specs">${escapeHtml(product.specs)}</p>
        <div class="card-foot">
          <span class="price">${formatPrice(product.price_vnd)}</span>
          ${stars(product.rating)}
        </div>
        <div class="card-actions">
          <button class="btn btn-small" data-add="${product.id}">Add to cart</button>
          <button class="btn btn-small btn-ghost" data-quick-view="${product.id}" data-track="quick-view" ${inList}>Quick view</button>
        </div>
      </article>`;
    }

    /** Shows `products` as cards in `element` and records them as shown in `list`. */
    function showProducts(element, list, products) {
      element.innerHTML = products.map((product, i) => productCard(product, list, i + 1)).join('');
      sbw.impressions(list, products.map((product) => ({ product_id: product.id, category: product.category })));
    }

    function toast(message) {
      const box = document.createElement('div');
      box.className = 'toast';
      box.setAttribute('role', 'status');
      box.textContent = message;
      document.body.append(box);
      setTimeout(() => box.remove(), 2500);
    }

    // ---------------------------------------------------------------- cart

    function readCart() {
      try {
        return JSON.parse(localStorage.getItem(CART_KEY)) || [];
      } catch {
        return [];
      }
    }

    function writeCart(lines) {
      localStorage.setItem(CART_KEY, JSON.stringify(lines));
      renderCartCount();
    }

    function cartLines() {
      return readCart()
        .map((line) => ({ ...line, product: productById(line.id) }))
        .filter((line) => line.product);
    }

    const cartTotal = (lines) => lines.reduce((sum, line) => sum + line.product.price_vnd * line.qty, 0);

    function addToCart(productId, qty) {
      const product = productById(productId);
      const lines = readCart();
      const line = lines.find((l) => l.id === productId);
      if (line) line.qty += qty;
      else lines.push({ id: productId, qty });
      writeCart(lines);
      sbw.addToCart({ product_id: product.id, category: product.category, price: product.price_vnd, currency: CURRENCY, qty });
      toast(`Added ${qty} × ${product.name} to your cart`);
    }

    function ecomOf(product, qty) {
      return { product_id: product.id, category: product.category, price: product.price_vnd, currency: CURRENCY, qty };
    }

    // ---------------------------------------------------------------- layout

    function renderHeader() {
      const user = localStorage.getItem(USER_KEY);
      $('#site-header').innerHTML = html`
        <div class="topbar">Free delivery in Hà Nội and TP. Hồ Chí Minh for orders over ${formatPrice(2000000)}</div>
        <div class="header-main container">
          <a class="logo" href="index.html">SBW<span>Computer</span></a>
          <form class="search" action="search.html" role="search">
            <input name="q" type="search" placeholder="Search laptops, monitors, mice…" aria-label="Search products" value="${escapeHtml(params.get('q') || '')}" />
            <button class="btn" type="submit">Search</button>
          </form>
          <div class="header-actions">
            <button class="link-button" id="account-button">${user ? 'Sign out (' + escapeHtml(user) + ')' : 'Sign in'}</button>
            <a class="cart-link" href="cart.html" data-track="header-cart">Cart <span id="cart-count" class="badge">0</span></a>
          </div>
        </div>
        <nav class="categories container" aria-label="Categories">
          ${catalog.categories.map((c) => html`<a href="category.html?c=${c.id}" data-track="nav-category">${c.name}</a>`).join('')}
        </nav>`;
      renderCartCount();
      $('#account-button').addEventListener('click', () => {
        if (localStorage.getItem(USER_KEY)) {
          localStorage.removeItem(USER_KEY);
          sbw.reset();
          toast('Signed out');
        } else {
          // A demo account; a real shop signs in with Cognito and calls identify() afterwards.
          localStorage.setItem(USER_KEY, 'demo-customer-0042');
          sbw.identify();
          toast('Signed in as demo-customer-0042');
        }
        renderHeader();
      });
    }

    function renderCartCount() {
      const count = readCart().reduce((sum, line) => sum + line.qty, 0);
      const badge = $('#cart-count');
      if (badge) badge.textContent = count;
    }

    function renderFooter() {
      $('#site-footer').innerHTML = html`
        <div class="container footer-grid">
          <div>
            <a class="logo logo-small" href="index.html">SBW<span>Computer</span></a>
            <p>Computers and accessories since 2014. 123 Lê Lợi, Quận 1, TP. Hồ Chí Minh.</p>
          </div>
          <div>
            <h4>Shop</h4>
            ${catalog.categories.map((c) => html`<a href="category.html?c=${c.id}">${c.name}</a>`).join('')}
          </div>
          <div>
            <h4>Privacy</h4>
            <p>We count visits and purchases with SBW analytics: no names, e-mail addresses or phone numbers,
            and page addresses without their query strings.</p>
            <button class="link-button" id="privacy-toggle"></button>
          </div>
        </div>`;
      const toggle = $('#privacy-toggle');
      const label = () => (toggle.textContent = sbw.isOptedOut() ? 'Measurement is off — turn it on' : 'Do not measure my visits');
      label();
      toggle.addEventListener('click', () => {
        sbw.isOptedOut() ? sbw.optIn() : sbw.optOut();
        label();
      });
    }

    // Add-to-cart and quick-view buttons on product cards.
    document.addEventListener('click', (event) => {
      const add = event.target.closest('[data-add]');
      if (add) addToCart(add.dataset.add, 1);
      const quick = event.target.closest('[data-quick-view]');
      if (quick) openQuickView(quick.dataset.quickView);
    });

    // ---------------------------------------------------------------- quick view (history navigation)

    // Quick view puts the product's own URL in the address bar with pushState, so the
    // SDK records a page view for it, like a single-page app; Back closes it.
    function openQuickView(productId) {
      const product = productById(productId);
      history.pushState({ quickView: productId }, '', 'product.html?id=' + productId);
      showQuickView(product);
    }

    function showQuickView(product) {
      closeQuickView();
      const dialog = document.createElement('div');
      dialog.className = 'modal-backdrop';
      dialog.id = 'quick-view';
      dialog.innerHTML = html`<div class="modal" role="dialog" aria-modal="true" aria-label="${escapeHtml(product.name)}">
        <button class="modal-close" aria-label="Close">×</button>
        ${productDetail(product)}
      </div>`;
      document.body.append(dialog);
      bindDetail(product);
      dialog.addEventListener('click', (event) => {
        if (event.target === dialog || event.target.closest('.modal-close')) history.back();
      });
      sbw.viewProduct({ product_id: product.id, category: product.category, price: product.price_vnd, currency: CURRENCY }, { source: 'quick-view' });
    }

    function closeQuickView() {
      const open = $('#quick-view');
      if (open) open.remove();
    }

    window.addEventListener('popstate', (event) => {
      const productId = event.state && event.state.quickView;
      productId ? showQuickView(productById(productId)) : closeQuickView();
    });

    // ---------------------------------------------------------------- pages

    function productDetail(product) {
      const category = categoryById(product.category);
      return html`<div class="detail">
        ${productArt(product, 'art-large')}
        <div class="detail-info">
          <p class="crumbs"><a href="index.html">Home</a> / <a href="category.html?c=${category.id}">${category.name}</a></p>
          <h1>${escapeHtml(product.name)}</h1>
          ${stars(product.rating)}
          <p class="specs">${escapeHtml(product.specs)}</p>
          <p class="price price-large">${formatPrice(product.price_vnd)}</p>
          <p class="stock">In stock · ships in 24 h · 12-month warranty</p>
          <div class="buy">
            <label>Qty <input id="qty" type="number" min="1" max="10" value="1" /></label>
            <button class="btn btn-primary" id="add-to-cart">Add to cart</button>
          </div>
        </div>
      </div>`;
    }

    function bindDetail(product) {
      $('#add-to-cart').addEventListener('click', () => {
        const qty = Math.min(10, Math.max(1, parseInt($('#qty').value, 10) || 1));
        addToCart(product.id, qty);
      });
    }

    const pages = {
      home() {
        // Customer favourites: the most popular products.
        const featured = [...catalog.products].sort((a, b) => b.popularity - a.popularity).slice(0, 8);
        $('#main').innerHTML = html`
          <section class="hero">
            <div class="container hero-inner">
              <div>
                <p class="eyebrow">Year-end sale</p>
                <h1>Work faster, play smoother.</h1>
                <p>Up to 15% off ultrabooks and 4K monitors, with free delivery and 0% instalments.</p>
                <a class="btn btn-primary" href="category.html?c=laptops" data-track="hero-banner">Shop laptops</a>
              </div>
              ${productArt(productById('lap-lenovo-x1c-g12'), 'art-hero')}
            </div>
          </section>
          <section class="container">
            <h2>Shop by category</h2>
            <div class="tiles">
              ${catalog.categories
                .map(
                  (c) => html`<a class="tile" href="category.html?c=${c.id}" data-track="category-tile">
                    ${productArt({ category: c.id }, 'art-small')}
                    <strong>${c.name}</strong><span>${c.blurb}</span></a>`,
                )
                .join('')}
            </div>
            <h2>Customer favourites</h2>
            <div class="grid" id="featured"></div>
          </section>`;
        showProducts($('#featured'), 'home:featured', featured);
      },

      category() {
        const category = categoryById(params.get('c')) || catalog.categories[0];
        document.title = category.name + ' · SBW Computer';
        const render = (sort) => {
          const products = catalog.products.filter((p) => p.category === category.id);
          const sorted = [...products].sort((a, b) => (sort === 'price-asc' ? a.price_vnd - b.price_vnd : sort === 'price-desc' ? b.price_vnd - a.price_vnd : b.rating - a.rating));
          // Sorting shows the list again: the SDK records each product once per page view.
          showProducts($('#products'), 'category:' + category.id, sorted);
        };
        $('#main').innerHTML = html`<section class="container">
          <p class="crumbs"><a href="index.html">Home</a> / ${category.name}</p>
          <div class="section-head">
            <div><h1>${category.name}</h1><p class="muted">${category.blurb}</p></div>
            <label class="sort">Sort by
              <select id="sort">
                <option value="rating">Best rated</option>
                <option value="price-asc">Price: low to high</option>
                <option value="price-desc">Price: high to low</option>
              </select>
            </label>
          </div>
          <div class="grid" id="products"></div>
        </section>`;
        render('rating');
        $('#sort').addEventListener('change', (event) => render(event.target.value));
      },

      product() {
        const product = productById(params.get('id'));
        if (!product) {
          $('#main').innerHTML = '<section class="container"><h1>Product not found</h1><a href="index.html">Back to the shop</a></section>';
          return;
        }
        document.title = product.name + ' · SBW Computer';
        const related = catalog.products.filter((p) => p.category === product.category && p.id !== product.id).slice(0, 4);
        $('#main').innerHTML = html`<section class="container">${productDetail(product)}
          <h2>You may also like</h2>
          <div class="grid" id="related"></div></section>`;
        bindDetail(product);
        sbw.viewProduct({ product_id: product.id, category: product.category, price: product.price_vnd, currency: CURRENCY });
        showProducts($('#related'), 'related', related);
      },

      cart() {
        const render = () => {
          const lines = cartLines();
          if (!lines.length) {
            $('#main').innerHTML = html`<section class="container narrow"><h1>Your cart</h1>
              <p class="empty">Your cart is empty.</p><a class="btn" href="index.html">Continue shopping</a></section>`;
            return;
          }
          $('#main').innerHTML = html`<section class="container narrow"><h1>Your cart</h1>
            <table class="cart">
              <thead><tr><th>Product</th><th>Price</th><th>Qty</th><th>Total</th><th></th></tr></thead>
              <tbody>${lines
                .map(
                  (line) => html`<tr>
                    <td class="cart-product">${productArt(line.product, 'art-tiny')}<a href="product.html?id=${line.id}">${escapeHtml(line.product.name)}</a></td>
                    <td>${formatPrice(line.product.price_vnd)}</td>
                    <td class="qty"><button class="btn btn-small btn-ghost" data-dec="${line.id}" aria-label="One less">−</button>
                      <span>${line.qty}</span>
                      <button class="btn btn-small btn-ghost" data-inc="${line.id}" aria-label="One more">+</button></td>
                    <td>${formatPrice(line.product.price_vnd * line.qty)}</td>
                    <td><button class="link-button" data-remove="${line.id}">Remove</button></td>
                  </tr>`,
                )
                .join('')}</tbody>
            </table>
            <div class="summary"><span>Subtotal</span><strong id="cart-total">${formatPrice(cartTotal(lines))}</strong></div>
            <div class="summary-actions"><a class="btn btn-ghost" href="index.html">Continue shopping</a>
              <a class="btn btn-primary" id="to-checkout" href="checkout.html">Proceed to checkout</a></div>
          </section>`;
        };
        render();
        $('#main').addEventListener('click', (event) => {
          const target = event.target.closest('[data-inc],[data-dec],[data-remove]');
          if (!target) return;
          const lines = readCart();
          const id = target.dataset.inc || target.dataset.dec || target.dataset.remove;
          const line = lines.find((l) => l.id === id);
          if (target.dataset.inc) line.qty += 1;
          if (target.dataset.dec) line.qty -= 1;
          writeCart(lines.filter((l) => l.qty > 0 && !(target.dataset.remove && l.id === id)));
          render();
        });
      },

      checkout() {
        const lines = cartLines();
        if (!lines.length) {
          $('#main').innerHTML = '<section class="container narrow"><h1>Checkout</h1><p class="empty">Your cart is empty.</p><a class="btn" href="index.html">Back to the shop</a></section>';
          return;
        }
        const total = cartTotal(lines);
        sbw.checkout({ items: lines.reduce((sum, line) => sum + line.qty, 0), value: total, currency: CURRENCY });
        // The shipping details below are for the order only: none of them is given to the analytics SDK.
        $('#main').innerHTML = html`<section class="container checkout">
          <form id="checkout-form" class="panel" novalidate>
            <h1>Checkout</h1>
            <label>Full name <input name="name" autocomplete="name" required /></label>
            <label>Phone <input name="phone" type="tel" autocomplete="tel" required /></label>
            <label>E-mail <input name="email" type="email" autocomplete="email" /></label>
            <label>Delivery address <textarea name="address" rows="2" autocomplete="street-address" required></textarea></label>
            <fieldset><legend>Payment</legend>
              <label class="inline"><input type="radio" name="payment" value="cod" checked /> Cash on delivery</label>
              <label class="inline"><input type="radio" name="payment" value="bank_transfer" /> Bank transfer</label>
              <label class="inline"><input type="radio" name="payment" value="card" /> Card</label>
            </fieldset>
            <p class="form-error" id="form-error" hidden>Please fill in your name, phone and address.</p>
            <button class="btn btn-primary" id="place-order" type="submit">Place order · ${formatPrice(total)}</button>
          </form>
          <aside class="panel">
            <h2>Order summary</h2>
            ${lines.map((line) => html`<div class="summary-line"><span>${line.qty} × ${escapeHtml(line.product.name)}</span><span>${formatPrice(line.product.price_vnd * line.qty)}</span></div>`).join('')}
            <div class="summary"><span>Total</span><strong>${formatPrice(total)}</strong></div>
          </aside>
        </section>`;
        $('#checkout-form').addEventListener('submit', (event) => {
          event.preventDefault();
          const form = new FormData(event.target);
          if (!['name', 'phone', 'address'].every((field) => String(form.get(field) || '').trim())) {
            $('#form-error').hidden = false;
            return;
          }
          const orderId = 'SBW-' + Date.now().toString(36).toUpperCase() + '-' + Math.floor(Math.random() * 1e4);
          sbw.purchase(orderId, lines.map((line) => ecomOf(line.product, line.qty)), { payment: String(form.get('payment')) });
          sessionStorage.setItem(LAST_ORDER_KEY, JSON.stringify({ orderId, total }));
          writeCart([]);
          location.href = 'order.html';
        });
      },

      order() {
        const order = JSON.parse(sessionStorage.getItem(LAST_ORDER_KEY) || 'null');
        $('#main').innerHTML = order
          ? html`<section class="container narrow thanks"><h1>Thank you for your order!</h1>
              <p>Order <strong id="order-id">${escapeHtml(order.orderId)}</strong> · ${formatPrice(order.total)}</p>
              <p class="muted">We will call you to confirm the delivery time.</p>
              <a class="btn btn-primary" href="index.html">Back to the shop</a></section>`
          : '<section class="container narrow"><h1>No recent order</h1><a class="btn" href="index.html">Back to the shop</a></section>';
      },

      search() {
        const query = (params.get('q') || '').trim();
        const words = query.toLowerCase().split(/\s+/).filter(Boolean);
        const results = catalog.products.filter((p) => {
          const text = (p.name + ' ' + p.specs + ' ' + categoryById(p.category).name).toLowerCase();
          return words.length && words.every((word) => text.includes(word));
        });
        if (query) sbw.search(query, { results: results.length });
        $('#main').innerHTML = html`<section class="container">
          <h1>Search results for “${escapeHtml(query)}”</h1>
          <p class="muted" id="result-count">${results.length} product${results.length === 1 ? '' : 's'} found</p>
          <div class="grid" id="results"></div></section>`;
        showProducts($('#results'), 'search', results);
      },
    };

    renderHeader();
    renderFooter();
    const page = document.body.dataset.page;
    pages[page]();
    // Opening product.html?id=… directly after a quick view: a Back button state exists already.
    if (history.state && history.state.quickView && page !== 'product') showQuickView(productById(history.state.quickView));
    document.documentElement.dataset.ready = 'true';
  }
})();
