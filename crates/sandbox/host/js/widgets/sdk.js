/**
 * The SDK amoCRM adds to every widget object after constructing it (§3.3 of the platform
 * notes): `system()`, `get_settings()`/`params`, `set_settings`, `i18n`, `langs`,
 * `set_lang`, `get_version`, `get_install_status`, `set_status`, `render`,
 * `render_template`, `crm_post`, `$authorizedAjax`, `list_selected`, `widgetsOverlay`,
 * `add_action`, `add_source`, `get_current_card_contacts_data`.
 */
define(['jquery', 'underscore', 'http', 'widgets/templates'], function ($, _, http, templates) {
  'use strict';

  /** Looks a dotted key (`settings.contact`) up in a locale object. */
  function lookup(langs, key) {
    return String(key).split('.').reduce(function (node, part) {
      return node !== undefined && node !== null ? node[part] : undefined;
    }, langs);
  }

  /** The right-column block amoCRM draws around a widget's `render_template` output. */
  function drawBlock(widget, options, html) {
    var code = widget.params.widget_code;
    var images = widget.params.images_path;
    var caption = options.caption || {};
    var $block = $('<div class="card-widgets__widget"></div>')
      .addClass('card-widgets__widget-' + code)
      .attr('data-widget-code', code);
    var $caption = $('<div class="card-widgets__widget__caption js-widget-caption-block"></div>')
      .addClass(caption.class_name || '')
      .append(
        $('<img class="card-widgets__widget__caption__logo" alt="">').attr('src', images + '/logo_medium.png'),
        $('<img class="card-widgets__widget__caption__logo_min" alt="">').attr('src', images + '/logo_min.png'),
        $('<span class="card-widgets__widget__caption__arrow"></span>')
      );
    var $body = $('<div class="card-widgets__widget__body"></div>').html(html);
    $block.append($caption, $body);
    var $existing = $('#widgets_block .card-widgets__widget[data-widget-code="' + code + '"]');
    if ($existing.length) {
      $existing.replaceWith($block);
    } else {
      $('#widgets_block .card-widgets__elements').append($block);
    }
    return $block;
  }

  /**
   * Adds the SDK to `widget`. `entry` is the manager's record of the widget (bootstrap data,
   * params, locale); `host` gives what the SDK needs from the page (current area, counts,
   * registries for actions and sources).
   */
  function attach(widget, entry, host) {
    widget.params = entry.params;
    widget.langs = entry.langs;

    widget.system = function () {
      var account = window.APP.constant('account');
      var user = window.APP.constant('user');
      return {
        area: entry.area,
        amouser_id: user.id,
        amouser: user.login,
        subdomain: account.subdomain,
        domain: window.location.host,
        // The sandbox has no regional server name; the account host stands in for it.
        server: window.location.hostname,
        displayed_count: host.displayedCount(),
        displayed_count_by_area: host.displayedCountByArea()
      };
    };

    widget.get_settings = function () {
      return widget.params;
    };
    // Like amoCRM's, this only changes the settings object on the page; it does not persist.
    widget.set_settings = function (values) {
      _.extend(widget.params, values || {});
      return widget.params;
    };

    widget.i18n = function (key) {
      return lookup(widget.langs, key);
    };
    widget.set_lang = function (langs) {
      widget.langs = langs || {};
      entry.langs = widget.langs;
      return widget.langs;
    };

    widget.get_version = function () {
      return widget.params.version;
    };
    widget.get_install_status = function () {
      return widget.params.status;
    };
    widget.set_status = function (status) {
      widget.params.status = status;
      $(document).trigger('widget:status', [widget.params.widget_code, status]);
      return status;
    };

    widget.render = function (data, params) {
      data = data || {};
      if (data.ref) {
        return templates.renderRef(data.ref, params);
      }
      if (data.href) {
        templates.loadRemote(data, params).catch(function (error) {
          console.error('Widget "' + widget.params.widget_code + '": template ' + data.href + ' failed to load', error);
        });
        return undefined;
      }
      return templates.renderInline(data.data !== undefined ? data.data : '', params);
    };

    /**
     * Draws the widget's block in the right column. As in amoCRM, `render` is compiled as the
     * body template; without it the page requests `/twig/undefined` and the call throws.
     */
    widget.render_template = function (options, params) {
      options = options || {};
      if (options.render === undefined) {
        fetch('/twig/undefined', { credentials: 'same-origin', headers: { 'X-Sandbox-Client': 'host' } })
          .catch(function () { return null; });
        throw new TypeError("Cannot read properties of undefined (reading 'render')");
      }
      var html = (options.body || '') + templates.renderInline(options.render, params);
      return drawBlock(widget, options, html);
    };

    /**
     * Not yet: amoCRM sends this POST through its server-side proxy, and the sandbox has no
     * proxy endpoint, so the browser sends it directly (the target must allow CORS).
     * As in amoCRM's bundle, a fifth (error) argument is ignored.
     */
    widget.crm_post = function (url, data, success, dataType) {
      return $.ajax({ url: url, type: 'POST', data: data, dataType: dataType || 'json', success: success });
    };

    /** `$.ajax` plus the one-time `X-Auth-Token` JWT; returns a jQuery promise. */
    widget.$authorizedAjax = function (settings) {
      var deferred = $.Deferred();
      http.get('/ajax/sandbox/widgets/' + encodeURIComponent(widget.params.widget_code) + '/token').then(function (answer) {
        var options = $.extend(true, {}, settings, { headers: { 'X-Auth-Token': answer.token } });
        $.ajax(options).then(deferred.resolve, deferred.reject);
      }, function (error) {
        deferred.reject(null, 'error', error);
      });
      return deferred.promise();
    };

    widget.list_selected = function () {
      var list = window.APP.data.current_list;
      var rows = list ? list.filter(function (row) { return row.checked; }) : [];
      return {
        count_selected: rows.length,
        selected: rows.map(function (row) {
          return { id: row.id, type: row.type, emails: row.emails || [], phones: row.phones || [] };
        })
      };
    };

    widget.widgetsOverlay = function (show) {
      $('#widgets_overlay').toggleClass('widgets-overlay_visible', !!show);
    };

    widget.add_action = function (type, handler) {
      host.addAction(widget.params.widget_code, type, handler);
    };

    widget.add_source = function (type, handler, text) {
      host.addSource(widget.params.widget_code, type, handler, text);
    };

    widget.get_current_card_contacts_data = function () {
      return host.currentCardContacts();
    };

    return widget;
  }

  return { attach: attach, lookup: lookup };
});
