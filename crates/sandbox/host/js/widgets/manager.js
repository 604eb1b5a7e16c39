/**
 * Loads and drives the account's widgets the way amoCRM does (§3 of the platform notes):
 * for each active widget whose manifest `locations` cover the current area it loads
 * `i18n/<lang>.json` and `require([path + '/script.js?v=' + version])`, constructs the
 * returned constructor with `new`, adds the SDK, then calls `render`, `bind_actions` right
 * after it, and `init` only when `render` gave a truthy value (or a Promise of one).
 * Leaving an area calls `destroy` and clears the right-column widgets block. It also runs
 * the settings modal callbacks (`settings`, `onSave`) and `advancedSettings`.
 * Errors thrown by widget callbacks are reported with `console.error`.
 */
define(['jquery', 'underscore', 'widgets/sdk'], function ($, _, sdk) {
  'use strict';

  var AREA_LOCATIONS = {
    lcard: ['lcard-0', 'lcard-1'],
    ccard: ['ccard-0', 'ccard-1'],
    comcard: ['comcard-0', 'comcard-1'],
    llist: ['llist-0', 'llist-1'],
    clist: ['clist-0', 'clist-1'],
    tlist: ['tlist-0', 'tlist-1']
  };
  var FAILED = {};

  var entries = {};
  var page = { area: null, owner: null };
  var displayed = [];
  var actions = {};
  var sources = {};
  var contactsProvider = null;

  function report(entry, what, error) {
    console.error('Widget "' + entry.code + '": ' + what + ' failed', error);
  }

  function locationsOf(entry) {
    return entry.info.locations || (entry.info.manifest && entry.info.manifest.locations) || [];
  }

  function manifestWidget(entry) {
    return (entry.info.manifest && entry.info.manifest.widget) || {};
  }

  /** The widget's language: the user's if the widget ships it, else English, else its first. */
  function pickLang(entry) {
    var locales = manifestWidget(entry).locale || [];
    var lang = window.APP.lang_id;
    if (_.contains(locales, lang)) {
      return lang;
    }
    return _.contains(locales, 'en') ? 'en' : locales[0];
  }

  function paramsFor(info, params) {
    params = params || {};
    _.each(_.keys(params), function (key) { delete params[key]; });
    return _.extend(params, info.settings || {}, {
      widget_code: info.code,
      path: info.path,
      images_path: info.images_path,
      cdn_path: info.cdn_path,
      cdn_images_path: info.cdn_images_path,
      version: info.version,
      active: info.active,
      widget_active: info.active,
      status: info.status,
      id: info.id,
      oauth_client_uuid: info.oauth_client_uuid,
      support: (info.manifest && info.manifest.widget && info.manifest.widget.support) || {}
    });
  }

  function findCallback(widget, name) {
    var owner = widget.callbacks || {};
    var parts = name.split('.');
    var fn = owner;
    for (var i = 0; i < parts.length; i += 1) {
      owner = fn;
      fn = fn ? fn[parts[i]] : undefined;
    }
    return typeof fn === 'function' ? { fn: fn, owner: owner } : null;
  }

  /** Calls one callback; a throw is reported and turned into FAILED. */
  function call(entry, name, args) {
    var found = entry.instance && findCallback(entry.instance, name);
    if (!found) {
      return undefined;
    }
    try {
      return found.fn.apply(found.owner, args || []);
    } catch (error) {
      report(entry, 'callback ' + name, error);
      return FAILED;
    }
  }

  var hostApi = {
    displayedCount: function () { return displayed.length; },
    displayedCountByArea: function () {
      var counts = {};
      if (page.area) {
        counts[page.area] = displayed.length;
      }
      return counts;
    },
    addAction: function (code, type, handler) {
      (actions[type] = actions[type] || []).push({ code: code, handler: handler });
    },
    addSource: function (code, type, handler, text) {
      (sources[type] = sources[type] || []).push({ code: code, type: type, handler: handler, text: text });
      $(document).trigger('widgets:sources_changed');
    },
    currentCardContacts: function () {
      return contactsProvider ? contactsProvider() : Promise.resolve([]);
    }
  };

  /** Loads the widget's locale file once (cross-origin from its CDN path). */
  function loadLangs(entry) {
    if (!entry.langsLoading) {
      var info = entry.info;
      var lang = pickLang(entry);
      entry.langsLoading = !lang ? Promise.resolve({}) :
        fetch(info.path + '/i18n/' + lang + '.json?v=' + encodeURIComponent(info.version), { credentials: 'omit' })
          .then(function (response) {
            if (!response.ok) {
              throw new Error('HTTP ' + response.status + ' for i18n/' + lang + '.json');
            }
            return response.json();
          });
      entry.langsLoading.then(function (langs) { entry.langs = langs || {}; }, function () { return null; });
    }
    return entry.langsLoading;
  }

  /** Loads the locale and the AMD module once, then builds the widget object. */
  function load(entry) {
    if (entry.loading) {
      return entry.loading;
    }
    var info = entry.info;
    var langs = loadLangs(entry);
    var module = new Promise(function (resolve, reject) {
      window.require([info.path + '/script.js?v=' + encodeURIComponent(info.version)], resolve, reject);
    });
    entry.loading = Promise.all([langs, module]).then(function (loaded) {
      var Widget = loaded[1];
      entry.langs = loaded[0] || {};
      if (typeof Widget !== 'function') {
        throw new TypeError('script.js did not return a widget constructor');
      }
      var widget = new Widget();
      sdk.attach(widget, entry, hostApi);
      entry.instance = widget;
      window.APP.widgets.list[entry.code] = widget;
      return widget;
    });
    entry.loading.catch(function (error) {
      report(entry, 'loading', error);
    });
    return entry.loading;
  }

  /** render → bind_actions → init (only if render gave a truthy value), honouring `init_once`. */
  function run(entry, area) {
    var visit = entry.visit = (entry.visit || 0) + 1;
    entry.area = area;
    var once = !!manifestWidget(entry).init_once;
    var rendered = call(entry, 'render');
    if (rendered === FAILED) {
      return Promise.resolve(false);
    }
    if (!(once && entry.bound)) {
      entry.bound = true;
      call(entry, 'bind_actions');
    }
    return Promise.resolve(rendered).then(function (ok) {
      if (ok && visit === entry.visit && !(once && entry.initialised)) {
        entry.initialised = true;
        call(entry, 'init');
      }
      return !!ok;
    }, function (error) {
      report(entry, 'callback render', error);
      return false;
    });
  }

  function matches(entry, area, owner) {
    var locations = locationsOf(entry);
    if (entry.info.active !== 'Y') {
      return false;
    }
    if (area === 'advanced_settings' && entry.code === owner && _.contains(locations, 'advanced_settings')) {
      return true;
    }
    return _.intersection(locations, AREA_LOCATIONS[area] || []).length > 0 || _.contains(locations, 'everywhere');
  }

  function setSystemArea(area) {
    var system = window.APP.widgets.system;
    system.area = area;
    system.displayed_count = displayed.length;
  }

  function show(entry) {
    displayed.push(entry.code);
    setSystemArea(page.area);
    return load(entry).then(function () {
      if (!_.contains(displayed, entry.code)) {
        return false;
      }
      return run(entry, page.area).then(function (ok) {
        if (page.area === 'advanced_settings' && entry.code === page.owner) {
          call(entry, 'advancedSettings');
        }
        return ok;
      });
    }, function () {
      displayed = _.without(displayed, entry.code);
      return false;
    });
  }

  function hide(code) {
    var entry = entries[code];
    displayed = _.without(displayed, code);
    entry.visit = (entry.visit || 0) + 1;
    call(entry, 'destroy');
    $('#widgets_block .card-widgets__widget[data-widget-code="' + code + '"]').remove();
  }

  return {
    /** Registers the account's widgets from the bootstrap. */
    init: function (widgets) {
      (widgets || []).forEach(function (info) {
        entries[info.code] = { code: info.code, info: info, params: paramsFor(info), langs: {} };
      });
      window.APP.widgets.system = {
        area: null,
        amouser_id: window.APP.constant('user').id,
        amouser: window.APP.constant('user').login,
        subdomain: window.APP.constant('account').subdomain,
        domain: window.location.host,
        server: window.location.hostname,
        displayed_count: 0
      };
    },

    list: function () {
      return _.values(entries).map(function (entry) { return entry.info; });
    },

    get: function (code) {
      return entries[code] ? entries[code].info : null;
    },

    /** Widget i18n for the host's own use (tile names, settings labels); loads it if needed. */
    langs: function (code) {
      return loadLangs(entries[code]).catch(function (error) {
        report(entries[code], 'loading i18n', error);
        return {};
      });
    },

    lookup: sdk.lookup,

    /** Enters a page area (`lcard`, `llist`, `tlist`, `everywhere`, `advanced_settings`). */
    enter: function (area, owner) {
      page = { area: area, owner: owner || null };
      setSystemArea(area);
      return Promise.all(_.values(entries).filter(function (entry) {
        return matches(entry, area, owner);
      }).map(show));
    },

    /** Leaves the current area: `destroy` every displayed widget and clear the widgets block. */
    leave: function () {
      displayed.slice().forEach(hide);
      $('#widgets_block .card-widgets__elements').empty();
      actions = {};
      sources = {};
      contactsProvider = null;
    },

    /** Opens the widget's scripts for its settings modal: render, bind_actions, init, then `settings($body)`. */
    openSettings: function (code, $body) {
      var entry = entries[code];
      if (!_.contains(locationsOf(entry), 'settings')) {
        return Promise.resolve(false);
      }
      setSystemArea('settings');
      return load(entry).then(function () {
        var running = run(entry, 'settings');
        call(entry, 'settings', [$body]);
        return running;
      });
    },

    /** Restores the page's area after the settings modal closes. */
    closeSettings: function (code) {
      var entry = entries[code];
      if (entry && _.contains(displayed, code)) {
        entry.area = page.area;
      }
      setSystemArea(page.area);
    },

    /** Calls `onSave(evt)` if the widget is loaded; resolves `true` to go on, `false` to stop. */
    onSave: function (code, evt) {
      var entry = entries[code];
      if (!entry.instance) {
        return Promise.resolve(true);
      }
      var result = call(entry, 'onSave', [evt]);
      if (result === FAILED || result === false) {
        return Promise.resolve(false);
      }
      return Promise.resolve(result).then(function (value) { return value !== false; }, function () { return false; });
    },

    /** Applies a saved widget entry: new params, and shows or destroys it on the current page. */
    update: function (info) {
      var entry = entries[info.code];
      var wasActive = entry.info.active === 'Y';
      entry.info = info;
      paramsFor(info, entry.params);
      if (info.active !== 'Y' && _.contains(displayed, info.code)) {
        hide(info.code);
      } else if (info.active !== 'Y' && wasActive && entry.instance) {
        call(entry, 'destroy');
      } else if (!wasActive && info.active === 'Y' && page.area && matches(entry, page.area, page.owner)) {
        show(entry);
      }
    },

    /** Calls a nested list callback (`leads.selected`, `todo.selected`, ...). */
    callList: function (code, name) {
      return call(entries[code], name);
    },

    /** Widgets shown on this page that define the given list callback. */
    withCallback: function (name) {
      return displayed.map(function (code) { return entries[code]; }).filter(function (entry) {
        return entry.instance && findCallback(entry.instance, name);
      }).map(function (entry) { return entry.info; });
    },

    actions: function (type) { return (actions[type] || []).slice(); },
    sources: function () { return _.flatten(_.values(sources)); },
    setContactsProvider: function (provider) { contactsProvider = provider; }
  };
});
