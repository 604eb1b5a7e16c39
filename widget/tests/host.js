// A small stand-in for the amoCRM page in the widget's browser tests: the widget object amoCRM builds,
// the APP/AMOCRM globals of a lead card, the right-column block that render_template draws,
// and a scripted `fetch` that records every request.

const responses = [];
const requests = [];
const times = [];
const held = [];

/** Replaces the page's `fetch` with one that answers from the script below, in order. */
export function install_fetch() {
  globalThis.fetch = (url, init) => {
    requests.push({ url: String(url), init });
    times.push(performance.now());
    const next = responses.length > 1 ? responses.shift() : responses[0];
    if (!next) return Promise.reject(new TypeError('no scripted response'));
    if (next.network) return Promise.reject(new TypeError('Failed to fetch'));
    const answer = () => {
      const body = next.status === 204 ? null : typeof next.body === 'string' ? next.body : JSON.stringify(next.body);
      const headers = { 'Content-Type': 'application/hal+json' };
      if (next.retry_after !== undefined) headers['Retry-After'] = String(next.retry_after);
      return new Response(body, { status: next.status, headers });
    };
    if (next.hold) return new Promise((resolve) => held.push(() => resolve(answer())));
    return Promise.resolve(answer());
  };
}

/** Scripts the next answers: `[{status, body, retry_after?, network?, hold?}]`; the last one repeats. */
export function script_responses(list) {
  responses.length = 0;
  responses.push(...list);
  requests.length = 0;
  times.length = 0;
}

/** Answers the requests that were held back. */
export function release_held() {
  held.splice(0).forEach((answer) => answer());
}

export function request_count() {
  return requests.length;
}

/** When each request was sent, in `performance.now()` milliseconds. */
export function request_times() {
  return times.slice();
}

/** The URL of request `i`, with its query decoded. */
export function request_url(i) {
  return decodeURIComponent(requests[i].url);
}

/** A header of request `i`. */
export function request_header(i, name) {
  return new Headers(requests[i].init.headers).get(name);
}

export function request_credentials(i) {
  return requests[i].init.credentials;
}

/** Sets `APP` and `AMOCRM` as amoCRM does in a lead card. */
export function set_lead_card(card_id, status, timezone, lang, status_in_form_only) {
  const attributes = { 'lead[STATUS]': String(status) };
  const model = status_in_form_only ? { get: () => undefined } : { get: (key) => attributes[key] };
  const app = {
    lang_id: lang,
    data: { current_card: { id: card_id, model, form: { model: { attributes } } } },
    constant: (key) => (key === 'account' ? { id: 1, subdomain: 'test', timezone } : undefined),
  };
  globalThis.APP = app;
  globalThis.AMOCRM = app;
}

/** A fresh right column with one block of another widget, like the one amoCRM shows beside ours. */
export function fresh_page() {
  document.querySelectorAll('#widgets_block').forEach((el) => el.remove());
  const column = document.createElement('div');
  column.id = 'widgets_block';
  column.innerHTML =
    '<div class="card-widgets__widget" data-widget-code="other"><div class="card-widgets__widget__body"><b>other widget</b></div></div>';
  document.body.appendChild(column);
  return column;
}

/** The widget object amoCRM hands to every callback, for `lang` texts (a language file as JSON). */
export function make_widget(code, area, langs_json) {
  const langs = JSON.parse(langs_json);
  const widget = {
    render_template_calls: 0,
    params: { widget_code: code, path: 'https://cdn.example.test/widgets/' + code + '/1.2.3', version: '1.2.3' },
    system: () => ({ area, amouser_id: 1, subdomain: 'test' }),
    get_version: () => '1.2.3',
    i18n: (key) => key.split('.').reduce((node, part) => (node == null ? undefined : node[part]), langs),
    render_template(data) {
      widget.render_template_calls += 1;
      // amoCRM renders `data.render` with Twig and fails without it (platform doc §11).
      if (typeof data.render !== 'string') throw new TypeError('render_template needs `render`');
      const column = document.getElementById('widgets_block');
      if (!column.querySelector(`[data-widget-code="${code}"]`)) {
        const block = document.createElement('div');
        block.className = 'card-widgets__widget card-widgets__widget-' + code;
        block.dataset.widgetCode = code;
        block.innerHTML = `<div class="card-widgets__widget__caption ${data.caption.class_name}"></div><div class="card-widgets__widget__body">${data.body}</div>`;
        column.appendChild(block);
      }
    },
  };
  return widget;
}

/** Draws our block the way amoCRM does before it calls `render`. */
export function draw_block(widget) {
  widget.render_template({ caption: { class_name: 'leakguard-caption' }, body: '', render: '' });
}

export function render_template_calls(widget) {
  return widget.render_template_calls;
}
