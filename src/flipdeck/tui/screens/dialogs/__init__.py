"""Provides the modal dialogs: each a ``ModalScreen[T]`` that answers with ``dismiss(value)``
(``None`` when cancelled), as frogmouth's dialogs do."""

from flipdeck.tui.screens.dialogs.choice import ChoiceDialog
from flipdeck.tui.screens.dialogs.confirm import ConfirmDialog
from flipdeck.tui.screens.dialogs.help import HelpDialog
from flipdeck.tui.screens.dialogs.preset import PresetDialog
from flipdeck.tui.screens.dialogs.prompt import PromptDialog

__all__ = ["ChoiceDialog", "ConfirmDialog", "HelpDialog", "PresetDialog", "PromptDialog"]
