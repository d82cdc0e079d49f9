"""The layout of 事業運営上開示すべき重要事項の概要[代行機関], declared once.

Parts are the form's left-hand headings, lines its labelled rows; each line
names the model fields it shows, in the form's order. The admin's fieldsets,
the public page, the PDF and the diff all read this declaration.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    label: str
    fields: tuple[str, ...]
    notes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Part:
    title: str
    lines: tuple[Line, ...]
    notes: tuple[int, ...] = field(default=())  # printed under the part, as on the form
    title_notes: tuple[int, ...] = ()  # referred to from the heading itself

    @property
    def fields(self):
        return tuple(name for line in self.lines for name in line.fields)


SHEET_LAYOUT = (
    Part(
        "基本情報",
        (
            Line("機関名", ("name",), (1,)),
            Line("所在地(住所)", ("address",), (1,)),
            Line("電話番号", ("phone",), (1,)),
            Line("ホームページアドレス", ("website_url",)),
            Line("窓口となるメールアドレス", ("contact_email",)),
            Line("代行機関コード", ("agency_code",), (2,)),
            Line("代行機関の分類", ("classification",), (3,)),
        ),
        notes=(1, 2, 3),
    ),
    Part(
        "施設及び設備情報",
        (
            Line("従事する職員の数 専任", ("staff_dedicated_own", "staff_dedicated_partner"), (4, 5)),
            Line("従事する職員の数 兼任", ("staff_concurrent_own", "staff_concurrent_partner"), (4, 5)),
            Line("全職員の数", ("staff_total_own", "staff_total_partner"), (5,)),
            Line("施設数(サポート拠点数)", ("facility_count", "facility_prefectures")),
            Line("財務基盤に関する資料または照会先", ("financial_reference",), (6,)),
            Line(
                "類似業務・サービスの提供実績",
                ("similar_services", "similar_services_detail"),
                (7,),
            ),
            Line("提供するサービス 対象", ("service_targets",)),
            Line("提供するサービス 内容", ("service_contents", "service_contents_other")),
            Line("利用者によるサービスの選択 保険者", ("insurer_selection",)),
            Line(
                "利用者によるサービスの選択 健診・保健指導機関",
                ("institution_selection", "institution_selectable_functions"),
            ),
        ),
        notes=(4, 5, 6, 7, 8),
    ),
    Part(
        "情報システムに関する情報",
        (
            Line("提供開始の年月日", ("service_start_date",), (9,)),
            Line("システムの保有", ("system_ownership",)),
            Line("システムの運用管理", ("system_operation",)),
            Line("システム専用区画・施設の有無", ("system_areas",)),
            Line("システム管理技術者数", ("system_engineers_own", "system_engineers_contractor")),
            Line("処理可能件数(設計値)", ("capacity_per_year", "capacity_per_day")),
        ),
        notes=(9,),
    ),
    Part(
        "運営に関する情報",
        (
            Line(
                "サービス提供時間",
                ("hours_office", "hours_system", "hours_helpdesk"),
            ),
            Line(
                "データ授受の方法 外部から機関へ",
                ("data_in_methods", "data_in_line", "data_in_media"),
            ),
            Line(
                "データ授受の方法 機関から外部へ",
                ("data_out_methods", "data_out_line", "data_out_media"),
            ),
            Line(
                "データ授受におけるセキュリティ対策の方法",
                ("security_online", "security_offline"),
            ),
        ),
    ),
    Part(
        "事務手数料等",
        (
            Line("初期費用", ("fee_initial_insurer", "fee_initial_institution")),
            Line(
                "経常経費 別途請求の有無",
                ("fee_separate_billing_insurer", "fee_separate_billing_institution"),
            ),
            Line("経常経費 固定費", ("fee_fixed_insurer", "fee_fixed_institution")),
            Line("経常経費 従量単価", ("fee_unit_insurer", "fee_unit_institution"), (11,)),
            Line("代行機関利用に際し必要となる設備等", ("required_equipment",), (12,)),
        ),
        notes=(10, 11, 12),
        title_notes=(10,),
    ),
    Part(
        "その他",
        (Line("前年度の取扱件数", ("cases_last_year_per_year", "cases_last_year_per_day"), (13,)),),
        notes=(13,),
    ),
)

# Shown with the sheet but computed from the checklist (注8), never edited.
COMPLIANCE_LINE = Line("ガイドラインの遵守", (), (8,))


def sheet_fields():
    return tuple(name for part in SHEET_LAYOUT for name in part.fields)
