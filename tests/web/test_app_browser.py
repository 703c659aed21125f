"""End to end in headless chromium: pick XOR, step forward and backward, read a neuron's and an edge's numbers off
the page and check them against the API and the engine, then train until the test accuracy is 100%.

Screenshots of each stage go to test-artifacts/web/ (the run reports the folder).
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import get_loss
from chainrule.nn.activations import ACTIVATIONS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The page is settled when it has started and no request is in flight (the page's CSP forbids eval, so the
# test waits on selectors, never on JavaScript expressions).
SETTLED = "body[data-ready='true'][data-pending='0']"


def api_state(base: str, page) -> dict:
    session = page.locator("body").get_attribute("data-session")
    return page.request.get(f"{base}/api/sessions/{session}", headers={"X-Chainrule": "1"}).json()


def shown(page, quantity: str) -> float:
    """The number the details panel shows for a quantity, as printed (8 significant digits)."""
    text = page.locator(f"#details td[data-quantity='{quantity}']").inner_text()
    return float(text.replace("\u2212", "-"))


def click(page, selector: str) -> None:
    page.click(selector)
    page.wait_for_selector(SETTLED)


def engine_gradients(state: dict) -> tuple[float, list, list]:
    """C, ∂C/∂W^l and ∂C/∂b^l (= δ^l by BP3) for the state's example, by the engine, from the API's weights."""
    p, e, L = state["pass"], state["example"], state["L"]
    W = [np.array(w) for w in p["W"][1:]]
    b = [np.array(v) for v in p["b"][1:]]
    target = np.array([e["label"]]) if state["config"]["loss"] == "ce" else np.array([e["t"]])

    def cost(*parameters):
        a = cr.tensor(np.array(e["x"])[None, :])
        for l in range(1, L + 1):
            a = ACTIVATIONS[state["activations"][l]](cr.linear(a, parameters[l - 1], parameters[L + l - 1]))
        return get_loss(state["config"]["loss"])(a, target)

    grads = cr.grad(cost, argnums=tuple(range(2 * L)))(*W, *b)
    return float(cost(*W, *b).item()), [None, *grads[:L]], [None, *grads[L:]]


def test_xor_forward_backward_numbers_match_and_training_reaches_full_test_accuracy(
        live_url, browser, screenshot):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(live_url + "/")
    page.wait_for_selector(SETTLED)
    page.select_option("#dataset", "moons")
    page.wait_for_selector(SETTLED)
    page.select_option("#dataset", "xor")
    page.wait_for_selector(SETTLED)
    screenshot(page, "01-start-xor")
    state = api_state(live_url, page)
    assert state["config"]["dataset"] == "xor" and state["pass"]["phase"] == "idle"
    L = state["L"]

    for _ in range(L):                                   # forward, one layer per click
        click(page, "#step-forward")
    assert page.locator("#phase").get_attribute("class") == "phase forward"
    click(page, "#neuron-1-2")
    state = api_state(live_url, page)
    p = state["pass"]
    assert shown(page, "z") == pytest.approx(p["z"][1][1], rel=1e-7, abs=1e-12)
    assert shown(page, "a") == pytest.approx(p["a"][1][1], rel=1e-7, abs=1e-12)
    assert p["a"][1][1] == pytest.approx(np.tanh(np.dot(p["W"][1][1], p["a"][0]) + p["b"][1][1]), rel=1e-12)
    page.mouse.move(5, 5)                                # no tooltip in the picture
    screenshot(page, "02-forward-pass")

    click(page, "#step-backward")                        # BP1: δ^L and ∂C/∂W^L
    state = api_state(live_url, page)
    p = state["pass"]
    cost, dW, db = engine_gradients(state)
    click(page, f"#neuron-{L}-1")
    assert shown(page, "delta") == pytest.approx(p["delta"][L][0], rel=1e-7, abs=1e-12)
    assert p["delta"][L][0] == pytest.approx(float(np.asarray(db[L])[0]), rel=1e-12)
    assert p["cost"] == pytest.approx(cost, rel=1e-12)
    click(page, f"[data-edge='{L}-1-2']")                 # the weight w^L_12
    assert shown(page, "dW") == pytest.approx(p["dW"][L][0][1], rel=1e-7, abs=1e-12)
    assert p["dW"][L][0][1] == pytest.approx(float(np.asarray(dW[L])[0, 1]), rel=1e-12)
    assert shown(page, "a_prev") * shown(page, "delta") == pytest.approx(shown(page, "dW"), rel=1e-6)
    assert "BP4" in page.locator("#details").inner_text()
    page.hover(f"#neuron-{L}-1")
    page.wait_for_selector("#tooltip:not([hidden])")
    screenshot(page, "03-backward-pass")

    for _ in range(L - 1):                               # BP2 down to layer 1, then the update
        click(page, "#step-backward")
    click(page, "#apply-update")
    assert page.locator("#phase").get_attribute("class") == "phase updated"
    page.mouse.move(5, 5)
    screenshot(page, "04-update")

    page.fill("#speed", "5")
    page.click("#train")
    page.wait_for_selector("#metric-test-accuracy[data-value='1']", timeout=60_000)
    page.click("#train")                                 # pause
    page.wait_for_selector("#train:not(.running)")
    page.wait_for_selector(SETTLED)
    state = api_state(live_url, page)
    assert state["metrics"]["test_accuracy"] == 1.0 and state["metrics"]["epoch"] > 0
    assert page.locator("#loss-curve path").count() >= 2
    screenshot(page, "05-trained")
    assert errors == []
    page.close()


def test_the_full_derivation_link_opens_the_explanation_of_the_current_example(live_url, browser, screenshot):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(live_url + "/")
    page.wait_for_selector(SETTLED)
    page.select_option("#pick-split", "test")               # test point #2 (by the picker: points may overlap)
    page.fill("#pick-index", "2")
    page.click("#pick-go")
    page.wait_for_selector(SETTLED)
    with page.context.expect_page() as opened:
        page.click("#explain-link")
    derivation = opened.value
    derivation.wait_for_load_state()
    assert "test example #2" in derivation.title()
    assert derivation.locator("math").count() > 10
    screenshot(derivation, "06-full-derivation")
    derivation.close()
    page.close()


def test_the_page_says_that_train_runs_compiled_steps(live_url, browser):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(live_url + "/")
    page.wait_for_selector(SETTLED)
    assert "compiled steps" in page.locator("#metric-training-engine").inner_text()
    assert api_state(live_url, page)["compiled_training"] is True
    page.close()
