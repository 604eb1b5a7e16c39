/**
 * A widget's own page under Settings (`/settings/widgets/:code/`): the manifest's
 * `advanced.title` and the `#work-area-<code>` the widget draws into from its
 * `advancedSettings` callback.
 */
define(['jquery', 'underscore', 'lang', 'widgets/manager'], function ($, _, lang, widgets) {
  'use strict';

  return function advancedSettingsPage(code) {
    return {
      entity: 'settings',
      widgetsArea: 'advanced-settings:' + code,
      area: 'advanced_settings',
      owner: code,
      menu: 'settings',
      title: lang.t('settings.title'),
      listUrl: '/settings/widgets/' + code + '/',

      render: function ($holder) {
        var info = widgets.get(code);
        var locations = (info && (info.locations || (info.manifest && info.manifest.locations))) || [];
        if (!info || !_.contains(locations, 'advanced_settings') || info.active !== 'Y') {
          $holder.append($('<div class="page-empty"></div>').text(info ? lang.t('settings.no_page') : lang.t('common.not_found')));
          return Promise.resolve();
        }
        var $title = $('<h1 class="page-title advanced-settings__title"></h1>').text(code);
        $holder.append($('<div class="advanced-settings"></div>').append(
          $title, $('<div class="work-area"></div>').attr('id', 'work-area-' + code)));
        return widgets.langs(code).then(function (langs) {
          var key = info.manifest && info.manifest.advanced && info.manifest.advanced.title;
          var title = widgets.lookup(langs, key || '');
          $title.text(typeof title === 'string' ? title : (key || code));
        });
      }
    };
  };
});
