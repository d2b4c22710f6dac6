"""The demo's ratings at the café: every colour, comments, the automatic reply, a conversation
both ways and a reply with a gift; loading the demo twice adds nothing."""

import io

import pytest
from django.core.management import call_command
from django.test import Client

from lealtad.ratings.models import Message, Rating

pytestmark = pytest.mark.django_db


def test_the_demo_has_the_cafes_ratings():
    out = io.StringIO()
    call_command("demo", verbosity=0, stdout=out)
    link = next(line for line in out.getvalue().splitlines() if "/rate/" in line).strip()
    page = Client().get(link.split("8000", 1)[1])
    assert page.status_code == 200 and 'name="score"' in page.content.decode()
    ratings = Rating.objects.filter(merchant__name="Café Aroma")
    assert {r.colour for r in ratings} == {"green", "yellow", "red"}
    assert ratings.exclude(comment="").count() >= 5
    silent = ratings.get(score=2, comment="")
    assert silent.auto_replied_at and silent.messages.get().automatic
    both_ways = ratings.get(score=3)
    assert {m.author for m in both_ways.messages.all()} == {"merchant", "customer"}
    assert ratings.filter(gifted=True).count() == 1
    assert Message.objects.filter(gift_offer__isnull=False).count() == 1
    count = Rating.objects.count()
    call_command("demo", verbosity=0, stdout=io.StringIO())
    assert Rating.objects.count() == count
