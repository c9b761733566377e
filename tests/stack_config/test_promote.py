"""stack_config.promote: promoting another stack's image, each rule naming its key."""

from __future__ import annotations

from stack_config import load
from tests.stack_config import problems_of


def test_stack_config_promotion_needs_no_bake() -> None:
    config = load(
        {
            "promote.from_stack": "org/bakery/staging",
            "promote.source_region": "us-east-1",
            "promote.share_with_accounts": ["012345678901"],
        },
        region="eu-west-1",
        stack="prod",
        project="bakery",
    )

    assert config.bake is None and config.promotes and config.copies
    assert config.promotion.share_with_accounts == ("012345678901",)


def test_stack_config_promotion_in_the_same_region_does_not_copy() -> None:
    config = load({"promote.from_stack": "staging"}, region="us-east-1", stack="prod")

    assert not config.copies
    assert load({"promote.from_stack": "staging", "promote.copy": "true"}, stack="prod").copies


def test_stack_config_promoting_from_itself_is_refused() -> None:
    problems = problems_of(
        {"promote.from_stack": "org/bakery/prod"}, stack="prod", project="bakery"
    )

    assert "that is this stack" in problems["bakery:promote.from_stack"]
    load({"promote.from_stack": "org/other/prod"}, stack="prod", project="bakery")


def test_stack_config_bad_stack_name_is_refused() -> None:
    assert "bakery:promote.from_stack" in problems_of({"promote.from_stack": "a/b/c/d"})


def test_stack_config_source_region_needs_aws_region() -> None:
    problems = problems_of({"promote.from_stack": "staging", "promote.source_region": "us-east-1"})

    assert "aws:region" in problems


def test_stack_config_kms_key_without_a_copy_is_refused() -> None:
    kms = "arn:aws:kms:us-east-1:111122223333:key/abcd"
    problems = problems_of(
        {"promote.from_stack": "staging", "promote.kms_key_id": kms}, region="us-east-1"
    )

    assert "bakery:promote.copy" in problems["bakery:promote.kms_key_id"]
    load(
        {"promote.from_stack": "staging", "promote.kms_key_id": kms, "promote.copy": True},
        region="us-east-1",
    )


def test_promote_twelve_digit_account_number_is_taken_as_its_text() -> None:
    # `pulumi config set --path 'bakery:promote.share_with_accounts[0]' 123456789012`
    # writes a YAML number; an 11-digit one lost its leading zero and is refused.
    config = load({"promote.from_stack": "staging", "promote.share_with_accounts": [123456789012]})

    assert config.promotion.share_with_accounts == ("123456789012",)
    problems = problems_of(
        {"promote.from_stack": "staging", "promote.share_with_accounts": "[12345678901]"}
    )
    assert "--type string" in problems["bakery:promote.share_with_accounts[0]"]
