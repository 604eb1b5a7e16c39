/**
 * The dashboard (`/dashboard/`): a greeting and the account's pipelines with links to
 * their boards.
 */
define(['jquery', 'format', 'lang'], function ($, format, lang) {
  'use strict';

  return function dashboardPage() {
    return {
      entity: 'dashboard',
      widgetsArea: 'dashboard',
      area: 'everywhere',
      menu: 'dashboard',
      title: lang.t('dashboard.title'),
      listUrl: '/dashboard/',

      render: function ($holder) {
        var user = window.APP.constant('user');
        var account = window.APP.constant('account');
        var $pipelines = $('<ul class="dashboard__pipelines"></ul>');
        format.pipelines().forEach(function (pipeline) {
          $pipelines.append($('<li></li>').append(
            $('<a class="js-navigate-link"></a>').attr('href', '/leads/pipeline/' + pipeline.id + '/').text(pipeline.name),
            $('<span class="dashboard__stages"></span>').text(' · ' + pipeline.statuses.length)));
        });
        $holder.append($('<div class="dashboard"></div>').append(
          $('<h1 class="dashboard__title"></h1>').text(lang.t('dashboard.welcome', user.name)),
          $('<div class="dashboard__account"></div>').text(account.name + ' · ' + account.subdomain + ' · ' + account.timezone),
          $('<h2></h2>').text(lang.t('dashboard.pipelines')),
          $pipelines
        ));
        return Promise.resolve();
      }
    };
  };
});
