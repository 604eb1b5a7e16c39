/**
 * `APP.router`: a Backbone.Router on pushState history with amoCRM's routes, the page
 * preventer mixed in, `back()`, and the page switch amoCRM's `routeWrap` performs: on
 * every route change it fires `page:change:start`, destroys the widgets of the area being
 * left and clears the widgets block, draws the new page, fires `page:entity_changed`
 * (when the entity changes) and `page:changed` (never on the first load), then loads the
 * widgets of the new area and fires `page:change:stop`. The events are jQuery events on
 * `document`. In-app links are `a.js-navigate-link`; Ctrl/⌘/Shift/middle clicks are left
 * to the browser (a new tab).
 */
define(['jquery', 'underscore', 'backbone', 'page_preventer', 'layout', 'widgets/manager', 'lang',
  'pages/dashboard', 'pages/pipeline', 'pages/list', 'pages/card', 'pages/todo', 'pages/widgets_settings',
  'pages/advanced_settings'],
function ($, _, Backbone, preventer, layout, widgets, lang, dashboardPage, pipelinePage, listPage, cardPage, todoPage,
  widgetsSettingsPage, advancedSettingsPage) {
  'use strict';

  function notFoundPage() {
    return {
      entity: 'dashboard', widgetsArea: 'dashboard', area: 'everywhere', menu: '', title: lang.t('common.not_found'),
      render: function ($holder) {
        $holder.append($('<div class="page-empty"></div>').text(lang.t('common.not_found')));
        return Promise.resolve();
      }
    };
  }

  var Router = Backbone.Router.extend(_.extend({}, preventer.mixin, {
    routes: {
      '': 'root',
      'dashboard(/)': 'dashboard',
      'leads(/)': 'leads',
      'leads/pipeline(/)': 'pipeline',
      'leads/pipeline/:id(/)': 'pipeline',
      'leads/list(/)': 'list',
      'leads/detail/:id(/)': 'card',
      'todo(/)': 'todoRoot',
      'todo/line(/)': 'todo',
      'settings(/)': 'settingsRoot',
      'settings/widgets(/)': 'widgetsSettings',
      'settings/widgets/:code(/)': 'advancedSettings',
      '*path': 'notFound'
    },

    initialize: function () {
      this.seq = 0;
      this.current = null;
      this.listUrls = {};
    },

    root: function () { this.navigate('/dashboard/', { trigger: true, replace: true }); },
    leads: function () { this.navigate('/leads/pipeline/', { trigger: true, replace: true }); },
    todoRoot: function () { this.navigate('/todo/line/', { trigger: true, replace: true }); },
    settingsRoot: function () { this.navigate('/settings/widgets/', { trigger: true, replace: true }); },
    dashboard: function () { this.show(dashboardPage()); },
    pipeline: function (id) { this.show(pipelinePage(id)); },
    list: function () { this.show(listPage()); },
    card: function (id) { this.show(cardPage(id)); },
    todo: function () { this.show(todoPage()); },
    widgetsSettings: function () { this.show(widgetsSettingsPage()); },
    advancedSettings: function (code) { this.show(advancedSettingsPage(code)); },
    notFound: function () { this.show(notFoundPage()); },

    /**
     * Back from a card: to the list the user came from, else to the entity's root (`/leads/`),
     * asking first while the preventer is armed.
     */
    back: function () {
      var entity = window.APP.getBaseEntity() || 'dashboard';
      var target = this.listUrls[entity] || '/' + entity + '/';
      var router = this;
      return this.guardNavigation(function () {
        router.navigateUnguarded(target, { trigger: true });
      });
    },

    show: function (page) {
      var router = this;
      var first = !this.current;
      var seq = this.seq += 1;
      var $doc = $(document);
      var app = window.APP;
      var previousEntity = app.data.current_entity;

      $(document.body).removeAttr('data-widgets-ready');
      if (!first) {
        $doc.trigger('page:change:start');
      }
      widgets.leave();
      if (this.current && this.current.destroy) {
        this.current.destroy();
      }
      this.current = page;
      if (page.listUrl) {
        this.listUrls[page.entity] = page.listUrl;
      }
      app.data.current_entity = page.entity;
      app.data.base_entity = page.entity;
      app.data.widgets_area = page.widgetsArea;
      app.data.is_card = !!page.isCard;
      app.data.current_card = false;
      app.data.current_list = null;
      layout.activate(page.menu, page.title);
      var $holder = layout.$holder().empty().attr('data-page', page.widgetsArea);
      app.data.current_view = { $el: $holder };

      return Promise.resolve().then(function () {
        return page.render($holder);
      }).catch(function (error) {
        if (seq !== router.seq) {
          return;
        }
        var missing = error && (error.status === 404 || error.status === 204);
        $holder.empty().append($('<div class="page-empty"></div>').text(missing ? lang.t('common.not_found') : error.message));
        if (!missing) {
          console.error('Page failed to load', error);
        }
      }).then(function () {
        if (seq !== router.seq) {
          return null;
        }
        $(document.body).removeClass('page-loading');
        if (!first && previousEntity !== page.entity) {
          $doc.trigger('page:entity_changed', [{ entity: page.entity, previous: previousEntity }]);
        }
        if (!first) {
          $doc.trigger('page:changed', [{ url: window.location.pathname, entity: page.entity, area: page.widgetsArea }]);
        }
        return widgets.enter(page.area, page.owner).then(function () {
          if (seq === router.seq) {
            $(document.body).attr('data-widgets-ready', '1');
            if (!first) {
              $doc.trigger('page:change:stop');
            }
          }
        });
      });
    }
  }));

  /** Creates the router, wires links, the back event and the preventer, and starts history. */
  function start() {
    var router = new Router();
    window.APP.router = router;
    preventer.install(router);

    $(document).on('click', 'a.js-navigate-link', function (e) {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.which === 2 || this.target === '_blank') {
        return;
      }
      e.preventDefault();
      router.navigate($(this).attr('href'), { trigger: true });
    });
    $(document).on('click', '.js-card-back-button, .js-back-button', function (e) {
      e.preventDefault();
      $(document).trigger('page:back');
    });
    $(document).on('page:back', function () {
      router.back();
    });

    Backbone.history.start({ pushState: true, root: '/' });
    return router;
  }

  return { start: start };
});
