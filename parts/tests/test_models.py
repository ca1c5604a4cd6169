"""The parts models: ``Part.clean`` (the admin's form runs it) and the supersession chain query."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from parts.models import Part

from .factories import PartFactory

pytestmark = pytest.mark.django_db


class TestSupersessionInTheAdmin:
    """``Part.clean`` follows the chain with ``rules.follow_supersession``, the one cycle check."""

    def test_an_edit_that_would_close_a_cycle_is_refused(self, dealer):
        first = PartFactory(dealer=dealer, part_id="VW1")
        second = PartFactory(dealer=dealer, part_id="VW2", superseded_by=first)
        third = PartFactory(dealer=dealer, part_id="VW3", superseded_by=second)
        first.superseded_by = third

        with pytest.raises(ValidationError) as refused:
            first.full_clean()

        assert refused.value.message_dict == {"superseded_by": ["VW3 would close a supersession cycle"]}

    def test_a_part_cannot_supersede_itself(self, dealer):
        part = PartFactory(dealer=dealer, part_id="VW1")
        part.superseded_by = part

        with pytest.raises(ValidationError, match="VW1 would close a supersession cycle"):
            part.full_clean()

    def test_a_chain_that_ends_is_accepted(self, dealer):
        final = PartFactory(dealer=dealer, part_id="VW3")
        middle = PartFactory(dealer=dealer, part_id="VW2", superseded_by=final)
        part = PartFactory(dealer=dealer, part_id="VW1")
        part.superseded_by = middle

        part.full_clean()  # no error

        new_part = Part(dealer=dealer, part_id="VW0", brand_code="VW", part_code="0", list_net_price=1)
        new_part.superseded_by = part
        new_part.full_clean()  # a part not yet saved, in front of the chain

    def test_the_successor_must_be_the_same_dealers(self, dealer):
        part = PartFactory(dealer=dealer)
        part.superseded_by = PartFactory()

        with pytest.raises(ValidationError, match="the successor must be a part of the same dealer"):
            part.full_clean()


class TestWithSuccessors:
    def test_it_answers_the_parts_and_every_successor_in_one_query(self, dealer, django_assert_num_queries):
        final = PartFactory(dealer=dealer, part_id="VW3")
        middle = PartFactory(dealer=dealer, part_id="VW2", superseded_by=final)
        PartFactory(dealer=dealer, part_id="VW1", superseded_by=middle)
        PartFactory(dealer=dealer, part_id="VW9")

        with django_assert_num_queries(1):
            found = sorted(Part.objects.filter(part_id="VW1").with_successors().values_list("part_id", flat=True))

        assert found == ["VW1", "VW2", "VW3"]

    def test_a_cycle_ends_the_query(self, dealer):
        first = PartFactory(dealer=dealer, part_id="VW1")
        second = PartFactory(dealer=dealer, part_id="VW2", superseded_by=first)
        Part.objects.filter(pk=first.pk).update(superseded_by=second)

        found = sorted(Part.objects.filter(pk=first.pk).with_successors().values_list("part_id", flat=True))

        assert found == ["VW1", "VW2"]
