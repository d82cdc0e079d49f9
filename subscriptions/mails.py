"""The mails of subscriptions: their words and links, in one place.

Every mail goes through disclosure_portal.mail.queue_email (a background task), and
every mail sent to a subscriber carries its one-click unsubscribe link, in the text
and in the List-Unsubscribe / List-Unsubscribe-Post headers (RFC 8058).
"""

from django.urls import reverse
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from disclosure_portal.mail import absolute_url, queue_email, send_email
from disclosures.formatting import japanese_date_time

from .models import Subscription
from .tokens import CONFIRMATION_MAX_AGE, confirmation_token, unsubscribe_token

# Every subject of this app's mails begins with it (forget_address() finds them by it).
SUBJECT_PREFIX = "【代行機関 重要事項の開示】"
ALL_ORGANIZATIONS = "すべての代行機関"


def one_line(text):
    """For a subject: a header must not break (機関名 may hold line breaks)."""
    return " ".join(text.split())


def scope_name(title):
    """What is subscribed to, as the mails and pages name it."""
    return f"「{one_line(title)}」" if title else ALL_ORGANIZATIONS


def unsubscribe_url(subscription):
    return absolute_url(
        reverse("subscriptions:unsubscribe", kwargs={"token": unsubscribe_token(subscription)})
    )


def unsubscribe_headers(subscription):
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(subscription)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def unsubscribe_lines(subscription, title):
    return [
        f"{scope_name(title)}の更新のお知らせを停止する（開くとすぐに停止します）:",
        unsubscribe_url(subscription),
    ]


def queue_confirmation(email, organization, title, existing):
    """The mail that asks to confirm; for an address already subscribed (`existing`),
    one that says so and how to stop instead. The form's answer is the same either way."""
    scope = scope_name(title)
    if existing is None:
        link = absolute_url(
            reverse("subscriptions:confirm", kwargs={"token": confirmation_token(email, organization)})
        )
        hours = int(CONFIRMATION_MAX_AGE.total_seconds() // 3600)
        subject = f"{SUBJECT_PREFIX}更新のお知らせの登録確認"
        body = [
            f"{scope}の重要事項が更新されたときにメールでお知らせする登録の申し込みを受け付けました。",
            "",
            f"登録を完了するには、{hours}時間以内に次のリンクを開き、「登録する」を押してください。",
            link,
            "",
            "お心当たりのない場合は、このメールを破棄してください。リンクを開かなければ登録されず、",
            "このアドレスが保存されることもありません。",
        ]
        headers = {}
    else:
        subject = f"{SUBJECT_PREFIX}更新のお知らせは登録済みです"
        body = [
            f"{scope}の更新のお知らせの登録の申し込みがありましたが、このアドレスはすでに登録されています。",
            "あらためて登録する必要はありません。",
            "",
            "お心当たりのない場合や、お知らせが不要な場合は、次のリンクで停止できます。",
            *unsubscribe_lines(existing, title),
        ]
        headers = unsubscribe_headers(existing)
    queue_email(to=email, subject=subject, body="\n".join(body) + "\n", headers=headers)


def queue_new_version(publication, email, subscriptions):
    """The mail of a new version to one address; `subscriptions` are the address's
    subscriptions that match it (the organisation's first, then all): one mail,
    with a link to stop each."""
    organization = publication.organization
    number = publication.number
    slug = organization.slug
    lines = [
        f"{one_line(publication.title)} が重要事項の開示を更新しました。",
        f"第{number}版（{japanese_date_time(publication.published_at)}公開）",
        "",
        "変更内容:",
        publication.change_note,
        "",
        f"第{number}版のページ:",
        absolute_url(publication.get_absolute_url()),
    ]
    if number > 1:
        diff = reverse("disclosures:diff", kwargs={"slug": slug, "number": number})
        lines += [f"第{number - 1}版からの変更点:", absolute_url(diff)]
    pdf = reverse("disclosures:version_pdf", kwargs={"slug": slug, "number": number})
    lines += ["PDF（監査・保存用）:", absolute_url(pdf)]
    lines += ["", "-- ", "このメールは、更新のお知らせに登録されたアドレスにお送りしています。"]
    for subscription in subscriptions:
        lines += unsubscribe_lines(subscription, publication.title if subscription.organization_id else None)
    queue_email(
        to=email,
        subject=f"{SUBJECT_PREFIX}{one_line(publication.title)} 第{number}版を公開しました",
        body="\n".join(lines) + "\n",
        headers=unsubscribe_headers(subscriptions[0]),
    )


def forget_address(email):
    """Once `email` has no subscription left, the mail queue's records of the mails
    sent to it from here (sent, failed, or waiting for a retry: none is to go out
    any more) are deleted with it; a mail being sent right now keeps its record."""
    if Subscription.objects.filter(email__iexact=email).exists():
        return
    DBTaskResult.objects.filter(
        task_path=send_email.module_path,
        args_kwargs__kwargs__to__iexact=email,
        args_kwargs__kwargs__subject__startswith=SUBJECT_PREFIX,
    ).exclude(status=TaskResultStatus.RUNNING).delete()
