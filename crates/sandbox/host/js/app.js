/**
 * Boots the fake amoCRM page: fetches `/ajax/sandbox/bootstrap`, builds `AMOCRM`/`APP`,
 * preloads the system control templates, registers the widgets, draws the frame and
 * starts the router.
 */
define(['jquery', 'http', 'lang', 'amocrm', 'controls', 'layout', 'router', 'widgets/manager', 'widgets/templates'],
function ($, http, lang, amocrm, controls, layout, router, widgets, templates) {
  'use strict';

  return http.get('/ajax/sandbox/bootstrap').then(function (bootstrap) {
    lang.use(bootstrap.lang_id);
    document.documentElement.lang = bootstrap.lang_id || 'ru';
    amocrm.build(bootstrap);
    widgets.init(bootstrap.widgets);
    return templates.preload().then(function () {
      controls.install();
      layout.render();
      router.start();
    });
  }).catch(function (error) {
    $(document.body).removeClass('page-loading').empty()
      .append($('<div class="page-empty"></div>').text(error.message));
    console.error('The page failed to start', error);
  });
});
