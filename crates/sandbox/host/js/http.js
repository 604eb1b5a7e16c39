/**
 * The requests the fake amoCRM page makes for itself (never the widgets' requests).
 * Every one carries `X-Sandbox-Client: host`, so the sandbox exempts it from the
 * integration rate limit and tags it in its request log, exactly like amoCRM's own UI
 * is not counted as an integration. It uses `fetch` rather than a global `$.ajaxSetup`,
 * so the widgets' own jQuery calls stay untagged.
 */
define([], function () {
  'use strict';

  /** An HTTP answer that was not 2xx; `problem` holds the parsed problem+json body if any. */
  function HttpError(status, problem, url) {
    this.name = 'HttpError';
    this.status = status;
    this.problem = problem;
    this.message = (problem && (problem.detail || problem.title)) || ('HTTP ' + status + ' for ' + url);
  }
  HttpError.prototype = Object.create(Error.prototype);
  HttpError.prototype.constructor = HttpError;

  /** Builds a query string in amoCRM's PHP bracket style from a nested object. */
  function query(params, prefix) {
    var parts = [];
    Object.keys(params || {}).forEach(function (key) {
      var value = params[key];
      var name = prefix ? prefix + '[' + key + ']' : key;
      if (value === undefined || value === null) {
        return;
      }
      if (typeof value === 'object') {
        parts.push(query(value, name));
      } else {
        parts.push(encodeURIComponent(name) + '=' + encodeURIComponent(value));
      }
    });
    return parts.filter(Boolean).join('&');
  }

  /**
   * Sends one host request to the account origin and resolves with the parsed JSON body,
   * or `null` for an empty answer (amoCRM lists answer 204 when nothing matches).
   */
  function request(method, url, body) {
    var headers = {
      'Accept': 'application/json',
      'X-Requested-With': 'XMLHttpRequest',
      'X-Sandbox-Client': 'host'
    };
    var init = { method: method, credentials: 'same-origin', headers: headers };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        if (text) {
          try {
            data = JSON.parse(text);
          } catch (e) {
            data = null;
          }
        }
        if (!response.ok) {
          throw new HttpError(response.status, data, url);
        }
        return data;
      });
    });
  }

  return {
    HttpError: HttpError,
    query: query,
    request: request,
    get: function (url, params) {
      var qs = query(params);
      return request('GET', qs ? url + (url.indexOf('?') < 0 ? '?' : '&') + qs : url);
    },
    post: function (url, body) { return request('POST', url, body); },
    /** Fetches a same-origin text file (a template) with the host header. */
    text: function (url) {
      return fetch(url, { credentials: 'same-origin', headers: { 'X-Sandbox-Client': 'host' } }).then(function (response) {
        if (!response.ok) {
          throw new HttpError(response.status, null, url);
        }
        return response.text();
      });
    },
    patch: function (url, body) { return request('PATCH', url, body); }
  };
});
