"""What the bench/ scripts share on their command lines: whole docstrings as their help, and
checks that name the option (bench/RESULTS.md's commands; not in the paper)."""
import argparse


def parser(doc: str) -> argparse.ArgumentParser:
    """An ArgumentParser whose --help shows the script's whole docstring, as written."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def positive(text: str) -> int:
    """A whole number >= 1, for argparse's ``type``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def names(text: str, allowed, what: str) -> list:
    """Comma-separated names, each one of ``allowed`` (else argparse's one-line error)."""
    chosen = [n for n in text.split(",") if n]
    wrong = [n for n in chosen if n not in allowed]
    if wrong or not chosen:
        raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(wrong) or '(none given)'}; "
                                         f"choose from {', '.join(allowed)}")
    return chosen
