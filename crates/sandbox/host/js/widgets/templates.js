/**
 * The Twig side of the widget SDK: preloads the system control templates
 * (`/tmpl/controls/<name>.twig`, served from the host's `tmpl/controls/`) into Twig.js's
 * global registry under those ids, and renders the three kinds of `self.render()` input:
 * a registered control (`ref`), an inline template (`data`) and a remote file (`href`).
 */
define(['twigjs', 'http'], function (twigjs, http) {
  'use strict';

  var CONTROLS = [
    'button', 'cancel_button', 'delete_button', 'input', 'textarea', 'checkbox', 'radio',
    'select', 'checkboxes_dropdown', 'checkboxes_dropdown/values_title', 'date_field'
  ];

  function registry() {
    return window.Twig.Templates.registry;
  }

  /** Loads every control template and registers it as `/tmpl/controls/<name>.twig`. */
  function preload() {
    return Promise.all(CONTROLS.map(function (name) {
      var id = '/tmpl/controls/' + name + '.twig';
      return http.text('/frontend/tmpl/controls/' + name + '.twig').then(function (source) {
        if (!registry()[id]) {
          twigjs({ id: id, data: source, allowInlineIncludes: true });
        }
      });
    }));
  }

  /** Renders a registered template by id; an unknown id is an error, as a missing file would be. */
  function renderRef(ref, params) {
    var template = registry()[ref];
    if (!template) {
      throw new Error('Twig template "' + ref + '" is not available');
    }
    return template.render(params || {});
  }

  function renderInline(source, params) {
    return twigjs({ data: source, allowInlineIncludes: true }).render(params || {});
  }

  /**
   * Loads `base_path + href` (with `?v=`), compiles it once per URL and hands the template
   * to `load`; widgets then call `template.render(params)` themselves.
   */
  function loadRemote(data, params) {
    var url = (data.base_path || '') + data.href;
    var id = url;
    var src = data.v ? url + (url.indexOf('?') < 0 ? '?' : '&') + 'v=' + encodeURIComponent(data.v) : url;
    var cached = registry()[id];
    var ready = cached ? Promise.resolve(cached) : fetch(src, { credentials: 'omit' }).then(function (response) {
      if (!response.ok) {
        throw new Error('HTTP ' + response.status + ' for ' + src);
      }
      return response.text();
    }).then(function (source) {
      return registry()[id] || twigjs({ id: id, data: source, allowInlineIncludes: true });
    });
    return ready.then(function (template) {
      if (typeof data.load === 'function') {
        data.load(template, params);
      }
      return template;
    });
  }

  return { preload: preload, renderRef: renderRef, renderInline: renderInline, loadRemote: loadRemote };
});
