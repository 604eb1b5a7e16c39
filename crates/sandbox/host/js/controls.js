/**
 * Behaviour of amoCRM's system controls (`/tmpl/controls/*.twig`) wherever they appear:
 * the custom select opens its list and writes the chosen value into its hidden input
 * (firing `change`), checkboxes keep their `is-checked` class, and the checkboxes dropdown
 * opens, closes and keeps its title in step with the ticked items. Delegated on `document`
 * once, like amoCRM's `interface/controls/common`.
 */
define(['jquery'], function ($) {
  'use strict';

  function closeAll(except) {
    $('.control--select.control--select-opened').not(except).removeClass('control--select-opened');
    $('.checkboxes_dropdown.checkboxes_dropdown-opened').not(except).removeClass('checkboxes_dropdown-opened');
  }

  /** Picks the plural form from "one,few,many" by the Russian rule (one form is used as is). */
  function numeral(count, forms) {
    var list = String(forms || '').split(',');
    var n10 = count % 10;
    var n100 = count % 100;
    if (n10 === 1 && n100 !== 11) {
      return list[0];
    }
    if (n10 >= 2 && n10 <= 4 && (n100 < 10 || n100 >= 20) && list.length > 1) {
      return list[1];
    }
    return list[list.length - 1];
  }

  function install() {
    $(document)
      .on('click.controls', '.control--select--button', function (e) {
        e.preventDefault();
        var $select = $(this).closest('.control--select');
        if ($select.hasClass('control--select-disabled')) {
          return;
        }
        closeAll($select);
        $select.toggleClass('control--select-opened');
      })
      .on('click.controls', '.control--select--list--item', function () {
        var $item = $(this);
        var $select = $item.closest('.control--select');
        var $input = $select.find('.control--select--input');
        $select.find('.control--select--list--item-selected').removeClass('control--select--list--item-selected');
        $item.addClass('control--select--list--item-selected');
        $select.find('.control--select--button-inner').text($item.find('.control--select--list--item-inner').text());
        $select.removeClass('control--select-opened');
        if ($input.val() !== String($item.data('value'))) {
          $input.val($item.data('value')).trigger('change');
        }
      })
      .on('change.controls', '.control-checkbox input[type="checkbox"]', function () {
        $(this).closest('.control-checkbox').toggleClass('is-checked', this.checked);
      })
      .on('click.controls', '.checkboxes_dropdown__title_wrapper', function () {
        var $dropdown = $(this).closest('.checkboxes_dropdown');
        closeAll($dropdown);
        $dropdown.toggleClass('checkboxes_dropdown-opened');
      })
      .on('change.controls', '.checkboxes_dropdown__checkbox', function () {
        var $dropdown = $(this).closest('.checkboxes_dropdown');
        var $checked = $dropdown.find('.checkboxes_dropdown__checkbox:checked');
        var title = $dropdown.data('title-empty') || '';
        if ($checked.length === 1) {
          title = $checked.data('option');
        } else if ($checked.length > 1) {
          title = $checked.length + ' ' + numeral($checked.length, $dropdown.data('title-numeral'));
        }
        $dropdown.find('.checkboxes_dropdown__title').text(title);
      })
      .on('click.controls', function (e) {
        if (!$(e.target).closest('.control--select, .checkboxes_dropdown').length) {
          closeAll($());
        }
      });
  }

  return { install: install };
});
