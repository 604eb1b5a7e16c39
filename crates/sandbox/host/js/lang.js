/**
 * The host page's own interface strings in Russian and English (amoCRM shows its own UI
 * in the user's language; Spanish and Portuguese users get the English text here).
 */
define([], function () {
  'use strict';

  var strings = {
    ru: {
      'menu.dashboard': 'Рабочий стол', 'menu.leads': 'Сделки', 'menu.tasks': 'Задачи',
      'menu.settings': 'Настройки', 'menu.widgets': 'Интеграции',
      'notifications.title': 'Уведомления', 'notifications.empty': 'Нет уведомлений',
      'common.save': 'Сохранить', 'common.cancel': 'Отмена', 'common.close': 'Закрыть',
      'common.more': 'Показать ещё', 'common.loading': 'Загрузка…', 'common.error': 'Ошибка',
      'common.back': 'Назад', 'common.not_found': 'Страница не найдена',
      'dashboard.title': 'Рабочий стол', 'dashboard.welcome': 'Добро пожаловать, %s',
      'dashboard.pipelines': 'Воронки', 'dashboard.open': 'Открыть',
      'leads.title': 'Сделки', 'leads.list': 'Список', 'leads.pipeline': 'Воронка',
      'leads.count': '%s сделок', 'leads.no_task': 'Нет задач', 'leads.overdue': 'Просрочена задача',
      'leads.task_at': 'Задача на %s', 'leads.name': 'Название', 'leads.status': 'Этап',
      'leads.price': 'Бюджет', 'leads.responsible': 'Ответственный', 'leads.selected': 'Выбрано: %s',
      'leads.shown': 'Показано %s', 'card.contacts': 'Контакты', 'card.tags': 'Теги',
      'card.fields': 'Поля', 'card.feed': 'События', 'card.saved': 'Сделка сохранена',
      'card.task': 'Задача', 'card.note': 'Примечание', 'card.complete': 'Выполнить',
      'card.completed': 'Выполнена', 'card.result': 'Результат', 'card.for': 'для',
      'card.deadline': 'Срок', 'card.add_task': 'Поставить задачу', 'card.add_note': 'Добавить примечание',
      'card.task_text': 'Что нужно сделать', 'card.note_text': 'Текст примечания',
      'card.task_added': 'Задача поставлена', 'card.task_done': 'Задача выполнена',
      'card.overdue': 'Просрочена', 'card.created': 'Создано', 'card.loss_reason': 'Причина отказа',
      'todo.title': 'Задачи', 'todo.empty': 'Нет открытых задач', 'todo.lead': 'Сделка',
      'settings.title': 'Настройки', 'settings.widgets': 'Интеграции',
      'settings.install': 'Установить', 'settings.disable': 'Отключить',
      'settings.installed': 'Установлено', 'settings.not_installed': 'Не установлено',
      'settings.saved': 'Настройки сохранены', 'settings.disabled': 'Интеграция отключена',
      'settings.required': 'Заполните обязательные поля', 'settings.no_page': 'Интеграция не установлена',
      'confirm.title': 'Вы уверены, что хотите покинуть страницу?',
      'confirm.description': 'Изменения не будут сохранены.',
      'confirm.accept': 'Покинуть', 'confirm.decline': 'Отмена',
      'unload.message': 'Изменения не будут сохранены.'
    },
    en: {
      'menu.dashboard': 'Dashboard', 'menu.leads': 'Leads', 'menu.tasks': 'Tasks',
      'menu.settings': 'Settings', 'menu.widgets': 'Integrations',
      'notifications.title': 'Notifications', 'notifications.empty': 'No notifications',
      'common.save': 'Save', 'common.cancel': 'Cancel', 'common.close': 'Close',
      'common.more': 'Show more', 'common.loading': 'Loading…', 'common.error': 'Error',
      'common.back': 'Back', 'common.not_found': 'Page not found',
      'dashboard.title': 'Dashboard', 'dashboard.welcome': 'Welcome, %s',
      'dashboard.pipelines': 'Pipelines', 'dashboard.open': 'Open',
      'leads.title': 'Leads', 'leads.list': 'List', 'leads.pipeline': 'Pipeline',
      'leads.count': '%s leads', 'leads.no_task': 'No tasks', 'leads.overdue': 'Overdue task',
      'leads.task_at': 'Task due %s', 'leads.name': 'Name', 'leads.status': 'Stage',
      'leads.price': 'Sale', 'leads.responsible': 'Responsible', 'leads.selected': 'Selected: %s',
      'leads.shown': '%s shown', 'card.contacts': 'Contacts', 'card.tags': 'Tags',
      'card.fields': 'Fields', 'card.feed': 'Feed', 'card.saved': 'Lead saved',
      'card.task': 'Task', 'card.note': 'Note', 'card.complete': 'Complete',
      'card.completed': 'Completed', 'card.result': 'Result', 'card.for': 'for',
      'card.deadline': 'Due', 'card.add_task': 'Add task', 'card.add_note': 'Add note',
      'card.task_text': 'What needs to be done', 'card.note_text': 'Note text',
      'card.task_added': 'Task added', 'card.task_done': 'Task completed',
      'card.overdue': 'Overdue', 'card.created': 'Created', 'card.loss_reason': 'Loss reason',
      'todo.title': 'Tasks', 'todo.empty': 'No open tasks', 'todo.lead': 'Lead',
      'settings.title': 'Settings', 'settings.widgets': 'Integrations',
      'settings.install': 'Install', 'settings.disable': 'Disable',
      'settings.installed': 'Installed', 'settings.not_installed': 'Not installed',
      'settings.saved': 'Settings saved', 'settings.disabled': 'Integration disabled',
      'settings.required': 'Fill in the required fields', 'settings.no_page': 'The integration is not installed',
      'confirm.title': 'Are you sure you want to leave this page?',
      'confirm.description': 'Your changes will not be saved.',
      'confirm.accept': 'Leave', 'confirm.decline': 'Cancel',
      'unload.message': 'Your changes will not be saved.'
    }
  };

  var current = strings.ru;

  return {
    /** Picks the language for the page; anything but Russian falls back to English. */
    use: function (langId) {
      current = strings[langId] || strings.en;
    },
    /** Returns the string for `key`, with each `%s` replaced by the next argument. */
    t: function (key) {
      var args = Array.prototype.slice.call(arguments, 1);
      var text = current[key] !== undefined ? current[key] : key;
      return text.replace(/%s/g, function () { return args.length ? String(args.shift()) : ''; });
    }
  };
});
