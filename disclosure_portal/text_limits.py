"""How much text a field may hold: every text that reaches the auditors' PDF has a
maximum, so a version's PDF stays a bounded number of pages (README, "Text limits").

Django's CharField enforces its max_length everywhere (form and full_clean); a
TextField's max_length only reaches the form, so TextFields here also carry a
MaxLengthValidator, and publish() (which calls full_clean) refuses what is too long.
Line breaks are limited too: 500 line breaks would otherwise print 500 lines.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.deconstruct import deconstructible

# The organisation's name: printed in the running header of every PDF page and in
# the PDF's file name. Real names (法人格 included) stay well under 60 characters.
NAME_MAX_LENGTH = 100
# 所在地: a full address with building and floor is under 60 characters; 300 is
# about seven lines of the sheet's value column.
ADDRESS_MAX_LENGTH = 300
# Short one-line entries (サービス提供時間, 回線種別, 媒体, その他(…), 選択可能な機能, 見出し).
SHORT_TEXT_MAX_LENGTH = 200
# A home page address: unbroken, so it wraps character by character; real ones are
# far shorter.
URL_MAX_LENGTH = 200
# Free-text descriptions (財務基盤, 内容, セキュリティ対策, 事務手数料, 必要となる設備等):
# about a third of an A4 page in the sheet's value column.
FREE_TEXT_MAX_LENGTH = 500
FREE_TEXT_MAX_LINES = 20
# A checklist edition's チェック項目 and 注: printed 56 times; twice the longest of the
# official 第2版 (133 characters).
CHECKLIST_TEXT_MAX_LENGTH = 300
CHECKLIST_TEXT_MAX_LINES = 10
# Short text that may take two or three lines (機関名, 所在地, サービス提供時間).
SHORT_TEXT_MAX_LINES = 5
# 実施時期 (例: 2027年3月末): printed in the checklist's narrow 実施予定 column of
# each of the 56 rows, where every 10 characters add a line.
PLANNED_TIME_MAX_LENGTH = 40
# The change note of a version: shown on the version list and in the Atom feed.
CHANGE_NOTE_MAX_LENGTH = 1000
# The checklist edition's 前文 and 記入上の注意 (one instruction a line).
TEMPLATE_TEXT_MAX_LENGTH = 1000


def line_count(value):
    return value.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1


@deconstructible
class MaxLinesValidator:
    message = "%(limit_value)d行以内で入力してください（%(show_value)d行になっています）。"
    code = "max_lines"

    def __init__(self, limit_value):
        self.limit_value = limit_value

    def __call__(self, value):
        lines = line_count(value)
        if lines > self.limit_value:
            raise ValidationError(
                self.message,
                code=self.code,
                params={"limit_value": self.limit_value, "show_value": lines},
            )

    def __eq__(self, other):
        return isinstance(other, MaxLinesValidator) and self.limit_value == other.limit_value


def text_validators(max_length, max_lines):
    """For a TextField: its max_length (enforced by full_clean too) and a line limit."""
    return [MaxLengthValidator(max_length), MaxLinesValidator(max_lines)]
