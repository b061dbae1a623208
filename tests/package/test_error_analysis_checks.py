"""The error-analysis checks (lesson 06) pass the master's solutions and explain typical mistakes."""

import numpy as np
import pytest

from cnn_course.checks import CheckFailed, ExerciseError, self_check

from .conftest import master_namespace

EXERCISES = ("precision_recall_f1", "most_confused_pairs", "roc_auc_one_vs_rest", "top_k_classes")


@pytest.fixture(scope="module")
def master():
    """The exercise functions of the master notebook, as the grader loads them."""
    return master_namespace("06_cifar10_evaluation")


@pytest.mark.parametrize("name", EXERCISES)
def test_the_masters_solution_passes(master, name, capsys):
    self_check(master[name])
    assert f"✔ {name} passes every check." in capsys.readouterr().out


def test_an_unwritten_exercise_is_reported_as_not_attempted(capsys):
    def top_k_classes(probabilities, k=3):
        raise NotImplementedError

    self_check(top_k_classes)
    assert "top_k_classes is not written yet" in capsys.readouterr().out


def fails_with(function, hint: str) -> CheckFailed:
    """Run the check of `function`; assert it fails with `hint` in its message and return the failure."""
    with pytest.raises(CheckFailed) as failure:
        self_check(function)
    assert hint in str(failure.value)
    assert str(failure.value).startswith(f"{function.__name__}: ")
    return failure.value


def counts(y_true, y_pred, num_classes):
    """Correct predictions, predictions and true examples per class."""
    return (
        np.bincount(y_true[y_true == y_pred], minlength=num_classes),
        np.bincount(y_pred, minlength=num_classes),
        np.bincount(y_true, minlength=num_classes),
    )


def ratio(numerator, denominator):
    """numerator / denominator, 0 where the denominator is 0."""
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def test_precision_recall_f1_dividing_by_zero():
    def precision_recall_f1(y_true, y_pred, num_classes=10):
        correct, predicted, actual = counts(y_true, y_pred, num_classes)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision, recall = correct / predicted, correct / actual
            return precision, recall, 2 * precision * recall / (precision + recall)

    fails_with(precision_recall_f1, "define a ratio whose denominator is 0 as 0")


def test_precision_recall_f1_swapped():
    def precision_recall_f1(y_true, y_pred, num_classes=10):
        correct, predicted, actual = counts(y_true, y_pred, num_classes)
        precision, recall = ratio(correct, actual), ratio(correct, predicted)
        return precision, recall, ratio(2 * precision * recall, precision + recall)

    fails_with(precision_recall_f1, "precision and recall are swapped")


def test_precision_recall_f1_arithmetic_mean():
    def precision_recall_f1(y_true, y_pred, num_classes=10):
        correct, predicted, actual = counts(y_true, y_pred, num_classes)
        precision, recall = ratio(correct, predicted), ratio(correct, actual)
        return precision, recall, (precision + recall) / 2

    fails_with(precision_recall_f1, "harmonic mean: 2 * P * R / (P + R)")


def test_precision_recall_f1_without_minlength():
    def precision_recall_f1(y_true, y_pred, num_classes=10):
        predicted = np.bincount(y_pred)
        precision = np.bincount(y_true[y_true == y_pred], minlength=len(predicted)) / predicted
        return precision, precision, precision

    fails_with(precision_recall_f1, "minlength=num_classes")


def test_precision_recall_f1_floor_division():
    def precision_recall_f1(y_true, y_pred, num_classes=10):
        correct, predicted, actual = counts(y_true, y_pred, num_classes)
        return correct // np.maximum(predicted, 1), correct // np.maximum(actual, 1), correct

    fails_with(precision_recall_f1, "divide with /, not //")


def test_precision_recall_f1_returning_an_array():
    def precision_recall_f1(y_true, y_pred, num_classes=10):
        return np.zeros((3, num_classes))

    fails_with(precision_recall_f1, "end with `return precision, recall, f1`")


def off_diagonal(confusion):
    """A copy of `confusion` with 0 on the diagonal."""
    mistakes = confusion.copy()
    np.fill_diagonal(mistakes, 0)
    return mistakes


def test_most_confused_pairs_with_the_diagonal():
    def most_confused_pairs(confusion, k=5):
        rows, columns = np.unravel_index(np.argsort(-confusion, axis=None)[:k], confusion.shape)
        return [(t, p, confusion[t, p]) for t, p in zip(rows, columns)]

    fails_with(most_confused_pairs, "set it to 0 on a copy first (np.fill_diagonal)")


def test_most_confused_pairs_transposed():
    def most_confused_pairs(confusion, k=5):
        mistakes = off_diagonal(confusion.T)
        rows, columns = np.unravel_index(np.argsort(-mistakes, axis=None)[:k], mistakes.shape)
        return [(t, p, mistakes[t, p]) for t, p in zip(rows, columns)]

    fails_with(most_confused_pairs, "entry [t, p] is the pair (t, p)")


def test_most_confused_pairs_smallest_first():
    def most_confused_pairs(confusion, k=5):
        mistakes = off_diagonal(confusion)
        rows, columns = np.unravel_index(np.argsort(mistakes, axis=None)[-k:], mistakes.shape)
        return [(t, p, mistakes[t, p]) for t, p in zip(rows, columns)]

    fails_with(most_confused_pairs, "sort by decreasing count")


def test_most_confused_pairs_keeping_zeros():
    def most_confused_pairs(confusion, k=5):
        mistakes = off_diagonal(confusion)
        rows, columns = np.unravel_index(np.argsort(-mistakes, axis=None, kind="stable")[:k], mistakes.shape)
        return [(t, p, mistakes[t, p]) for t, p in zip(rows, columns) if t != p]

    fails_with(most_confused_pairs, "leave out pairs with a count of 0")


def test_most_confused_pairs_returning_a_dict():
    def most_confused_pairs(confusion, k=5):
        return {(1, 3): 9}

    fails_with(most_confused_pairs, "expected a list of (true_class, predicted_class, count) tuples")


def pairwise_auc(positives, negatives, tie=0.5):
    """The share of (positive, negative) pairs with the positive scored higher, a tie counting `tie`."""
    above, below = positives[:, None], negatives[None, :]
    return np.mean(above > below) + tie * np.mean(above == below)


def test_roc_auc_from_predicted_labels():
    def roc_auc_one_vs_rest(y_true, probabilities):
        predicted = np.argmax(probabilities, axis=1)
        scores = [(predicted == c).astype(float) for c in range(probabilities.shape[1])]
        return np.array([pairwise_auc(s[y_true == c], s[y_true != c]) for c, s in enumerate(scores)])

    fails_with(roc_auc_one_vs_rest, "these are the AUCs of the predicted labels")


def test_roc_auc_inverted():
    def roc_auc_one_vs_rest(y_true, probabilities):
        columns = range(probabilities.shape[1])
        return np.array([pairwise_auc(probabilities[y_true != c, c], probabilities[y_true == c, c]) for c in columns])

    fails_with(roc_auc_one_vs_rest, "the image of class c has the *higher* probability of class c")


@pytest.mark.parametrize("tie", [0.0, 1.0])
def test_roc_auc_miscounting_ties(tie):
    def roc_auc_one_vs_rest(y_true, probabilities):
        columns = range(probabilities.shape[1])
        return np.array(
            [pairwise_auc(probabilities[y_true == c, c], probabilities[y_true != c, c], tie) for c in columns]
        )

    fails_with(roc_auc_one_vs_rest, "add 0.5 for each tied pair")


def test_roc_auc_with_the_wrong_column():
    def roc_auc_one_vs_rest(y_true, probabilities):
        columns = range(probabilities.shape[1])
        return np.array([pairwise_auc(probabilities[y_true == c, 0], probabilities[y_true != c, 0]) for c in columns])

    fails_with(roc_auc_one_vs_rest, "for class c, the scores are column c: probabilities[:, c]")


def test_roc_auc_averaged_over_classes():
    def roc_auc_one_vs_rest(y_true, probabilities):
        columns = range(probabilities.shape[1])
        return np.array(
            np.mean([pairwise_auc(probabilities[y_true == c, c], probabilities[y_true != c, c]) for c in columns])
        )

    fails_with(roc_auc_one_vs_rest, "one AUC per class")


def test_roc_auc_for_ten_classes_only_is_reported_as_a_crash():
    def roc_auc_one_vs_rest(y_true, probabilities):
        return np.array([pairwise_auc(probabilities[y_true == c, c], probabilities[y_true != c, c]) for c in range(10)])

    with pytest.raises(ExerciseError, match="roc_auc_one_vs_rest: raised IndexError"):
        self_check(roc_auc_one_vs_rest)


def test_top_k_classes_least_probable_first():
    def top_k_classes(probabilities, k=3):
        indices = np.argsort(probabilities)[-k:]
        return indices, probabilities[indices]

    fails_with(top_k_classes, "reverse it ([::-1])")


def test_top_k_classes_least_probable_classes():
    def top_k_classes(probabilities, k=3):
        indices = np.argsort(probabilities)[:k]
        return indices, probabilities[indices]

    fails_with(top_k_classes, "np.argsort(probabilities)[::-1][:k]")


def test_top_k_classes_ignoring_k():
    def top_k_classes(probabilities, k=3):
        indices = np.argsort(probabilities)[::-1][:3]
        return indices, probabilities[indices]

    fails_with(top_k_classes, "slice the sorted indices with [:k]")


def test_top_k_classes_with_mismatched_probabilities():
    def top_k_classes(probabilities, k=3):
        return np.argsort(probabilities)[::-1][:k], np.sort(probabilities)[:k]

    fails_with(top_k_classes, "probabilities[indices]")


def test_top_k_classes_returning_indices_only():
    def top_k_classes(probabilities, k=3):
        return np.argsort(probabilities)[::-1][:k]

    fails_with(top_k_classes, "end with `return indices, probabilities`")
