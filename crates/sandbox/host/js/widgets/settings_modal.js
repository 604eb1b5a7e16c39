/**
 * The widget settings modal of Settings → Integrations: the widget's logo, name and short
 * description on the left; on the right `.widget_settings_block` with the description
 * (placeholders replaced), the manifest's settings fields (text, pass, users, users_lp,
 * custom: `div#<code>_custom_content` + hidden `input#<code>_custom[name="<field>"]`) and
 * the Install/Save button `.js-widget-save` (disabled until a `change` once installed).
 * Saving calls `callbacks.onSave({active: 'Y', fields})`, which may return true or a
 * Promise; a rejection, `false` or a `button:save:error` on the button keeps the modal
 * open. Only then the fields go to `POST /ajax/sandbox/widgets/:code/settings`.
 * Disabling calls `onSave` with `active: 'N'`, saves, then `destroy`.
 */
define(['jquery', 'underscore', 'http', 'lang', 'lib/components/base/modal', 'widgets/manager'],
function ($, _, http, lang, Modal, widgets) {
  'use strict';

  function text(langs, key) {
    var value = widgets.lookup(langs, key);
    return typeof value === 'string' ? value : (key || '');
  }

  /** Replaces the documented description placeholders with the account's values. */
  function placeholders(html) {
    var account = window.APP.constant('account');
    var user = window.APP.constant('user');
    var host = window.location.hostname;
    var values = {
      '#HOST#': window.location.host,
      '#SUBDOMAIN#': account.subdomain,
      '#LOGIN#': user.login,
      '#ACCOUNT_ID#': account.id,
      '#USER_ID#': user.id,
      '#TOP_LEVEL_DOMAIN#': host.indexOf('.') >= 0 ? host.split('.').pop() : host,
      '#API_HASH#': ''
    };
    return String(html || '').replace(/#[A-Z_]+#/g, function (token) {
      return values[token] !== undefined ? String(values[token]) : token;
    });
  }

  function fieldControl(code, name, field, value) {
    var type = field.type;
    if (type === 'custom') {
      return $('<div class="widget_settings_block__custom"></div>').append(
        $('<div></div>').attr('id', code + '_custom_content'),
        $('<input type="hidden">').attr({ id: code + '_custom', name: name }).val(value === undefined || value === null ? '' :
          (typeof value === 'object' ? JSON.stringify(value) : value)));
    }
    if (type === 'users' || type === 'users_lp') {
      var $users = $('<div class="widget_settings_block__users"></div>');
      _.each(window.APP.constant('managers'), function (manager) {
        var own = (value && value[manager.id]) || {};
        var $row = $('<div class="widget_settings_block__user"></div>').append($('<span></span>').text(manager.title));
        if (type === 'users') {
          $row.append($('<input type="text" class="text-input">').attr('name', name + '[' + manager.id + ']')
            .val(typeof own === 'string' ? own : ''));
        } else {
          $row.append(
            $('<input type="text" class="text-input">').attr('name', name + '[' + manager.id + '][login]').val(own.login || ''),
            $('<input type="password" class="text-input" autocomplete="new-password">').attr('name', name + '[' + manager.id + '][password]').val(own.password || ''));
        }
        $users.append($row);
      });
      return $users;
    }
    return $('<input class="text-input widget_settings_block__input_field">')
      .attr({ type: type === 'pass' ? 'password' : 'text', name: name, autocomplete: type === 'pass' ? 'new-password' : 'off' }).val(value === undefined || value === null ? '' : value);
  }

  /** Reads the fields back in the manifest's shape (`users*` fields as objects keyed by user id). */
  function collect($block, settings) {
    var fields = {};
    _.each(settings, function (field, name) {
      if (field.type === 'users' || field.type === 'users_lp') {
        var map = {};
        $block.find('[name^="' + name + '["]').each(function () {
          var keys = this.name.slice(name.length).match(/\[([^\]]*)\]/g).map(function (k) { return k.slice(1, -1); });
          if (keys.length === 1) {
            map[keys[0]] = this.value;
          } else {
            map[keys[0]] = map[keys[0]] || {};
            map[keys[0]][keys[1]] = this.value;
          }
        });
        fields[name] = map;
      } else {
        fields[name] = $block.find('[name="' + name + '"]').first().val();
      }
    });
    return fields;
  }

  function missingRequired(fields, settings) {
    return _.some(settings, function (field, name) {
      return field.required && (fields[name] === undefined || fields[name] === '' || _.isEqual(fields[name], {}));
    });
  }

  /** Opens the modal for widget `code`; `changed(info)` runs after each successful save. */
  function open(code, changed) {
    var info = widgets.get(code);
    var manifest = info.manifest || {};
    var about = manifest.widget || {};
    var settings = manifest.settings || {};
    return widgets.langs(code).then(function (langs) {
      var installed = info.active === 'Y';
      var modal = new Modal({
        class_name: 'modal-list widget-settings ' + code,
        init: function ($body) {
          var $right = $('<div class="widget-settings__right"></div>');
          var $block = $('<div class="widget_settings_block"></div>').appendTo($right);
          var $fields = $('<form class="widget_settings_block__fields" autocomplete="off"></form>')
            .on('submit', function (e) { e.preventDefault(); });
          _.each(settings, function (field, name) {
            $fields.append($('<div class="widget_settings_block__item_field"></div>').append(
              $('<div class="widget_settings_block__title_field"></div>').text(text(langs, field.name) + (field.required ? ' *' : '')),
              $('<div class="widget_settings_block__input_field"></div>').append(fieldControl(code, name, field, info.settings && info.settings[name]))));
          });
          var $save = $('<button type="button" class="button-input button-input_blue js-widget-save" data-onsave-destroy-modal="true"></button>')
            .append($('<span class="button-input-inner__text"></span>').text(lang.t(installed ? 'common.save' : 'settings.install')))
            .prop('disabled', installed);
          var $controls = $('<div class="widget_settings_block__controls"></div>').append($save);
          if (installed) {
            $controls.append($('<button type="button" class="button-input js-widget-uninstall"></button>').text(lang.t('settings.disable')));
          }
          $block.append(
            $('<div class="widget_settings_block__descr widget-settings__desc-space"></div>').html(placeholders(text(langs, about.description))),
            $fields,
            $controls);
          $body.append($('<div class="widget-settings__modal"></div>').append(
            $('<div class="widget-settings__left"></div>').append(
              $('<img class="widget-settings__logo" alt="">').attr('src', info.images_path + '/logo_main.png'),
              $('<div class="widget-settings__name"></div>').text(text(langs, about.name)),
              $('<div class="widget-settings__short"></div>').text(text(langs, about.short_description)),
              $('<div class="widget-settings__status"></div>').text(lang.t(installed ? 'settings.installed' : 'settings.not_installed'))),
            $right));
          $body.attr({ role: 'dialog', 'aria-modal': 'true' }).trigger('modal:loaded');

          $block.on('change', function () { $block.find('.js-widget-save').prop('disabled', false); });
          $block.on('click', '.js-widget-save', function () { submit($block, $(this), 'Y'); });
          $block.on('click', '.js-widget-uninstall', function () { submit($block, $(this), 'N'); });
          widgets.openSettings(code, $right).catch(function () { return null; });
        },
        destroy: function () {
          widgets.closeSettings(code);
        }
      });

      function submit($block, $button, active) {
        if ($button.prop('disabled')) {
          return;
        }
        var fields = collect($block, settings);
        if (active === 'Y' && missingRequired(fields, settings)) {
          window.APP.notifications.show_message_error({ header: lang.t('common.error'), text: lang.t('settings.required') });
          return;
        }
        var evt = { active: active, fields: fields };
        var failed = false;
        var $save = $block.find('.js-widget-save');
        $save.off('button:save:error.host').on('button:save:error.host', function () { failed = true; });
        $button.prop('disabled', true);
        widgets.onSave(code, evt).then(function (ok) {
          if (!ok || failed) {
            return null;
          }
          return http.post('/ajax/sandbox/widgets/' + encodeURIComponent(code) + '/settings', { active: active, fields: evt.fields })
            .then(function (entry) {
              info = entry;
              widgets.update(entry);
              if (changed) {
                changed(entry);
              }
              window.APP.notifications.show_message({
                header: text(langs, about.name), text: lang.t(active === 'Y' ? 'settings.saved' : 'settings.disabled') });
              if (active === 'N' || $save.attr('data-onsave-destroy-modal')) {
                modal.destroy();
              }
            });
        }).catch(function (error) {
          window.APP.notifications.show_message_error({ header: lang.t('common.error'), text: error.message });
        }).then(function () {
          $save.off('button:save:error.host');
          $button.prop('disabled', false);
        });
      }

      return modal;
    });
  }

  return { open: open };
});
