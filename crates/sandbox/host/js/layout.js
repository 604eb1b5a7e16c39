/**
 * The page frame: the left menu `.nav__menu-wrapper` (Dashboard, Leads, Tasks, Settings →
 * Integrations and the installed widgets' own pages), the top bar `.nav__top` with the
 * page title, the user and the notification centre `.nav__notifications`, and the work
 * area `#page_holder`. Menu links are `.js-navigate-link`, handled by the router.
 */
define(['jquery', 'underscore', 'lang', 'widgets/manager'], function ($, _, lang, widgets) {
  'use strict';

  var $root;

  function menuItem(key, href, label) {
    return $('<a class="nav__menu__item js-navigate-link"></a>').attr({ href: href, 'data-entity': key })
      .append($('<span class="nav__menu__item__icon"></span>').text(label.charAt(0)),
        $('<span class="nav__menu__item__title"></span>').text(label));
  }

  /** Lists the active widgets that have their own page under Settings. */
  function renderAdvancedItems() {
    var $sub = $root.find('.nav__menu__sub').empty();
    widgets.list().forEach(function (info) {
      var locations = info.locations || (info.manifest && info.manifest.locations) || [];
      if (info.active !== 'Y' || !_.contains(locations, 'advanced_settings')) {
        return;
      }
      var $link = $('<a class="nav__menu__sub-item js-navigate-link"></a>').attr('href', '/settings/widgets/' + info.code + '/').text(info.code);
      $sub.append($link);
      widgets.langs(info.code).then(function (langs) {
        var title = widgets.lookup(langs, (info.manifest && info.manifest.advanced && info.manifest.advanced.title) || '');
        if (typeof title === 'string') {
          $link.text(title);
        }
      });
    });
  }

  function renderNotifications() {
    var items = window.APP.notifications.list();
    var $box = $root.find('.nav__notifications');
    $box.find('.nav__notifications__counter').text(items.length ? String(items.length) : '').toggle(items.length > 0);
    var $list = $box.find('.nav__notifications__list').empty();
    if (!items.length) {
      $list.append($('<div class="nav__notifications__empty"></div>').text(lang.t('notifications.empty')));
    }
    items.forEach(function (item) {
      $list.append($('<div class="nav__notifications__item"></div>').addClass('nav__notifications__item_' + item.kind).append(
        $('<div class="nav__notifications__item-header"></div>').text(item.header),
        $('<div class="nav__notifications__item-text"></div>').text(item.text)));
    });
  }

  return {
    render: function () {
      var user = window.APP.constant('user');
      $root = $('#app_root').empty().append(
        $('<div class="nav__menu-wrapper"></div>').append($('<nav class="nav__menu"></nav>').append(
          menuItem('dashboard', '/dashboard/', lang.t('menu.dashboard')),
          menuItem('leads', '/leads/', lang.t('menu.leads')),
          menuItem('todo', '/todo/line/', lang.t('menu.tasks')),
          menuItem('settings', '/settings/widgets/', lang.t('menu.settings')),
          $('<div class="nav__menu__sub"></div>'))),
        $('<div class="nav__top"></div>').append(
          $('<div class="nav__top__title"></div>'),
          // Quick links of the top bar: in-app links handled by the router, like the left menu.
          $('<div class="nav__top__links"></div>').append(
            $('<a class="nav__top__link js-navigate-link" href="/leads/list/"></a>').text(lang.t('menu.leads')),
            $('<a class="nav__top__link js-navigate-link" href="/todo/line/"></a>').text(lang.t('menu.tasks'))),
          $('<div class="nav__top__user"></div>').text(user.name),
          $('<div class="nav__notifications"></div>').append(
            $('<button type="button" class="nav__notifications__bell"></button>').attr('title', lang.t('notifications.title'))
              .append($('<span class="nav__notifications__icon">&#9993;</span>'), $('<span class="nav__notifications__counter"></span>')),
            $('<div class="nav__notifications__list"></div>'))),
        $('<div id="page_holder" class="page-holder"></div>'),
        $('<div id="widgets_overlay" class="widgets-overlay"></div>'));
      $root.on('click', '.nav__notifications__bell', function () {
        $root.find('.nav__notifications').toggleClass('nav__notifications_opened');
      });
      $(document).on('notifications:changed', renderNotifications);
      $(document).on('widgets:installed_changed', renderAdvancedItems);
      renderAdvancedItems();
      renderNotifications();
    },

    $holder: function () {
      return $('#page_holder');
    },

    /** Marks the menu item of the current page and sets the top bar title. */
    activate: function (menu, title) {
      $root.find('.nav__menu__item').removeClass('nav__menu__item_active')
        .filter('[data-entity="' + menu + '"]').addClass('nav__menu__item_active');
      $root.find('.nav__top__title').text(title || '');
      document.title = (title ? title + ' — ' : '') + 'amoCRM';
    }
  };
});
