/**
 * Settings → Integrations (`/settings/widgets/`): a tile per uploaded widget with its
 * `logo.png` and i18n name; a click opens the widget settings modal.
 */
define(['jquery', 'underscore', 'lang', 'widgets/manager', 'widgets/settings_modal'], function ($, _, lang, widgets, settingsModal) {
  'use strict';

  return function widgetsSettingsPage() {
    var $list;

    function tile(info) {
      var $tile = $('<div class="widget-card js-widget-card" role="button" tabindex="0"></div>').attr('data-code', info.code)
        .toggleClass('widget-card_installed', info.active === 'Y')
        .append(
          $('<img class="widget-card__logo" alt="">').attr('src', info.images_path + '/logo.png'),
          $('<div class="widget-card__name"></div>').text(info.code),
          $('<div class="widget-card__status"></div>').text(lang.t(info.active === 'Y' ? 'settings.installed' : 'settings.not_installed')));
      widgets.langs(info.code).then(function (langs) {
        var name = widgets.lookup(langs, (info.manifest && info.manifest.widget && info.manifest.widget.name) || '');
        if (typeof name === 'string') {
          $tile.find('.widget-card__name').text(name);
        }
      });
      return $tile;
    }

    function refresh(info) {
      $list.find('.js-widget-card[data-code="' + info.code + '"]').replaceWith(tile(info));
      $(document).trigger('widgets:installed_changed');
    }

    return {
      entity: 'settings',
      widgetsArea: 'widgetsSettings',
      area: 'everywhere',
      menu: 'settings',
      title: lang.t('settings.widgets'),
      listUrl: '/settings/widgets/',

      render: function ($holder) {
        $list = $('<div class="widgets-settings__list"></div>');
        widgets.list().forEach(function (info) { $list.append(tile(info)); });
        $list.on('click keydown', '.js-widget-card', function (e) {
          if (e.type === 'keydown' && e.keyCode !== 13) {
            return;
          }
          settingsModal.open($(this).attr('data-code'), refresh);
        });
        $holder.append($('<div class="widgets-settings"></div>').append(
          $('<h1 class="page-title"></h1>').text(lang.t('settings.widgets')), $list));
        return Promise.resolve();
      }
    };
  };
});
