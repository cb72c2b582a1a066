"""Page 2: choose a model, see the hardware, pick a preset or set every training setting."""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QRadioButton, QScrollArea, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from . import workers
from .widgets import fit_columns, format_bytes, format_count, hint, show_error

TIPS = {
    "epochs": "How many times training reads all your examples. Auto: chosen from the data size; early stopping may end sooner.",
    "batch_size": "Examples processed together. Larger is faster on a GPU but needs more memory. Auto: 32 on most machines.",
    "learning_rate": "How big each learning step is. Auto: chosen from the model size (small models want larger rates).",
    "head_learning_rate": "Learning rate of the new classification layer. Auto: 5 times the learning rate.",
    "max_length": "Longer texts are cut to this many tokens. Auto: long enough for 99% of your texts.",
    "warmup": "Share of steps spent slowly raising the learning rate at the start (0.06 = 6%). Auto: 6%.",
    "weight_decay": "A mild pull of the weights towards zero that reduces overfitting.",
    "grad_accum": "Add up this many batches before each learning step (a larger effective batch with little memory).",
    "group_by_length": "Put texts of similar length in the same batch: about 1.5 times as fast on a CPU, with the "
                       "accuracy of random batches. Off: random batches, as a plain DataLoader draws them.",
    "seed": "Fixes the random choices so the same settings give the same result.",
    "class_weights": "Give rare classes more weight in the loss. Auto: on when the classes are strongly imbalanced.",
    "early_stopping_patience": "Stop once this many epochs in a row gain less than half a point of validation score (the model has converged). Auto: 2 or 3.",
    "metric": "The validation score that picks the best checkpoint.",
    "keep_best": "Keep the model of the best epoch rather than the last one.",
    "device": "Where to compute. Auto: NVIDIA GPU, then Apple GPU, then the CPU.",
    "precision": "Number format. Auto: bf16/fp16 on an NVIDIA GPU (faster), fp32 elsewhere.",
    "time_budget_min": "Stop training after about this many minutes. Auto: no limit.",
    "valid_split": "Share of your examples kept aside to measure how well the model does.",
    "eval_every_epoch": "Measure the validation score after every epoch (needed for charts and early stopping).",
    "threads": "CPU threads used for training. Auto: all cores.",
}


METHODS = [  # (method, words, tooltip): the learning method choice (core.methods), in plain words
    ("auto", "Automatic (recommended)", "The app picks from how many labeled examples each category has: few examples → "
     "“Few examples”, many → “Full training”. The reason shows below."),
    ("zero-shot", "From category names only", "Zero-shot: nothing is trained. Each text gets the category whose name "
     "it is most similar to. Good for a first look before you label anything."),
    ("few-shot", "Few examples", "Few-shot (SetFit-style): learns from a handful of labeled texts per category by "
     "comparing pairs of texts. Best up to about 64 examples per category."),
    ("fine-tune", "Full training", "Fine-tuning: the whole model learns from all your labeled texts. Best with many "
     "examples per category, and the only way for texts with several labels."),
]
METHOD_WORDS = {"zero-shot": "From category names only", "few-shot": "Few examples", "fine-tune": "Full training",
                "auto": "Automatic"}
LONG_TEXTS = [("auto", "Auto", "Read long texts in pieces when many of your texts are longer than the model reads."),
              ("on", "On", "Always read texts longer than the max length in overlapping pieces, and combine them."),
              ("off", "Off", "Cut long texts at the max length (the end is not read).")]


class ModelPage(QWidget):
    model_changed = Signal()
    settings_changed = Signal()

    def __init__(self, window):
        super().__init__()
        self.win = window
        self.models: list = []
        self._wanted_model: str | None = window.store.get("model_path")

        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["Model", "Source", "Architecture", "Parameters", "Size", "Notes"])
        self.table.horizontalHeaderItem(5).setToolTip("What to expect from this model (in full below the list)")
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(5, QHeaderView.Stretch)
        self.table.setWordWrap(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.add_button = QPushButton("Add folder…")
        self.add_button.setToolTip("Add a Hugging Face model folder (with config.json, weights and tokenizer files)")
        self.add_button.clicked.connect(self.add_folder)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.status = hint("Looking for models …")
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.add_button)

        self.hardware_label = QLabel("Checking the hardware …")
        self.hardware_label.setWordWrap(True)
        hw_box = QGroupBox("This computer")
        QVBoxLayout(hw_box).addWidget(self.hardware_label)

        from ..core.defaults import PRESETS

        method_box = QGroupBox("How to learn")
        method_box.setToolTip("The learning method: zero-shot, few-shot or fine-tuning")
        ml = QVBoxLayout(method_box)
        self.method_combo = QComboBox()
        for i, (key, words, tip) in enumerate(METHODS):
            self.method_combo.addItem(words, key)
            self.method_combo.setItemData(i, tip, Qt.ToolTipRole)
        self.method_combo.setToolTip("\n\n".join(f"{w}: {t}" for _k, w, t in METHODS))
        saved_method = window.store.get("method", "auto")
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData(saved_method)))
        window.session.set_method(self.method_combo.currentData())
        self.method_combo.currentIndexChanged.connect(self._method_changed)
        ml.addWidget(self.method_combo)

        preset_box = QGroupBox("How long to train")
        pl = QVBoxLayout(preset_box)
        self.preset_group = QButtonGroup(self)
        self.preset_buttons: dict[str, QRadioButton] = {}
        for key, preset in PRESETS.items():
            button = QRadioButton(preset.title)
            button.setToolTip(preset.description)
            self.preset_group.addButton(button)
            self.preset_buttons[key] = button
            pl.addWidget(button)
            text = QLabel(preset.description)
            text.setWordWrap(True)
            text.setContentsMargins(24, 0, 0, 4)
            pl.addWidget(text)
            button.toggled.connect(lambda on, k=key: on and self.apply_preset(k))
        self.budget_button = QRadioButton("Train for about")
        self.budget_button.setToolTip("Your own time budget")
        self.budget_spin = QSpinBox()
        self.budget_spin.setRange(1, 24 * 60)
        self.budget_spin.setSuffix(" minutes")
        self.budget_spin.setValue(int(window.store.get("budget_minutes", 10)))
        self.preset_group.addButton(self.budget_button)
        self.preset_buttons["budget"] = self.budget_button
        row = QHBoxLayout()
        row.addWidget(self.budget_button)
        row.addWidget(self.budget_spin)
        row.addStretch(1)
        pl.addLayout(row)
        text = QLabel("The app measures its speed in the first steps and plans the epochs to finish in time, "
                      "keeping the best checkpoint.")
        text.setWordWrap(True)
        text.setContentsMargins(24, 0, 0, 4)
        pl.addWidget(text)
        self.budget_button.toggled.connect(lambda on: on and self.apply_budget())
        self.budget_spin.valueChanged.connect(lambda _v: self.budget_button.isChecked() and self.apply_budget())

        self.plan_label = QLabel("")
        self.plan_label.setWordWrap(True)
        self.plan_label.setTextFormat(Qt.RichText)
        self.plan_label.installEventFilter(self)  # re-laid out as a stack when its column is narrow
        plan_box = QGroupBox("What training will use, and why")
        plan_box.setToolTip("Settings left on Auto are chosen from your data, the model and this computer. "
                            "Anything you set yourself wins.")
        QVBoxLayout(plan_box).addWidget(self.plan_label)
        self.hardware_info: dict = {}

        self.advanced = QGroupBox("Advanced settings")
        self.advanced.setToolTip("Auto lets the app choose from your data and hardware")
        self.advanced.setCheckable(True)
        self.advanced.setChecked(False)
        form = QFormLayout()
        self.inputs: dict[str, QWidget] = {}
        self._build_inputs(form)
        self.long_combo = QComboBox()
        for i, (key, words, tip) in enumerate(LONG_TEXTS):
            self.long_combo.addItem(words, key)
            self.long_combo.setItemData(i, tip, Qt.ToolTipRole)
        self.long_combo.setToolTip("Long-document mode: texts longer than the max length are split into overlapping "
                                   "windows, each is read, and the answers are combined. Auto: on when many texts are long.")
        self.long_combo.setCurrentIndex(max(0, self.long_combo.findData(window.store.get("long_documents", "auto"))))
        window.session.set_long_documents(self.long_combo.currentData())
        self.long_combo.currentIndexChanged.connect(self._long_changed)
        form.addRow("Long texts: read in pieces:", self.long_combo)
        inner = QWidget()
        inner.setLayout(form)
        self.advanced_inner = inner
        al = QVBoxLayout(self.advanced)
        al.addWidget(inner)
        self.advanced.toggled.connect(inner.setVisible)
        inner.setVisible(False)

        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Model to fine-tune</b>"))
        left.addWidget(self.table, 1)
        self.expect_label = QLabel("")
        self.expect_label.setWordWrap(True)
        left.addWidget(self.expect_label)
        left.addLayout(buttons)
        left.addWidget(hw_box)
        right_widget = QWidget()
        right = QVBoxLayout(right_widget)
        right.addWidget(method_box)
        right.addWidget(preset_box)
        right.addWidget(plan_box)
        right.addWidget(self.advanced)
        right.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(right_widget)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addWidget(scroll, 2)
        self.columns, self.right_scroll = layout, scroll

        from ..core.settings import TrainSettings

        self.model_changed.connect(lambda: self.win.session.set_model(self.model_path()))
        self.model_changed.connect(self._show_expectation)
        window.session_signals.changed.connect(self._session_changed)
        saved = window.store.get("train_settings")
        self.set_settings(TrainSettings.from_dict(saved) if isinstance(saved, dict) else TrainSettings())
        key = window.store.get("preset", "quick")
        self.preset_buttons.get(key, self.preset_buttons["quick"]).setChecked(True)
        if self._wanted_model:
            self.win.session.set_model(self._wanted_model)

    def set_narrow(self, narrow: bool) -> None:
        """The presets and the plan below the model list in a narrow window (the window calls this on resize)."""
        from PySide6.QtWidgets import QBoxLayout

        self.columns.setDirection(QBoxLayout.TopToBottom if narrow else QBoxLayout.LeftToRight)
        # stacked, the presets and the plan take the height they need (the page scrolls)
        self.right_scroll.setMinimumHeight(self.right_scroll.widget().sizeHint().height() if narrow else 0)

    def _session_changed(self, change: str) -> None:
        from ..core.session import DATA, LENGTHS, MODEL, SETTINGS

        if change in (DATA, MODEL, SETTINGS, LENGTHS):
            self.update_plan()

    # -- models ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.status.setText("Looking for models …")
        self.win.tasks.start("models", workers.list_models_task, list(self.win.store.get("extra_model_folders", [])),
                             str(self.win.store.runs_dir()), on_done=self._models_loaded,
                             on_failed=lambda m, d: self.status.setText(m))
        if not self.hardware_label.property("done"):
            self.win.tasks.start("hardware", workers.hardware_task, on_done=self._hardware)

    def _hardware(self, info: dict) -> None:
        self.hardware_label.setProperty("done", True)
        self.hardware_info = info
        self.update_plan()
        threads = self.win.training_threads()
        lines = [f"CPU: {info.get('cpu_count')} cores ({threads} thread{'s' if threads != 1 else ''} for training, "
                 "one core left for this window)"]
        for gpu in info.get("gpus", []):
            lines.append(f"GPU {gpu['index']}: {gpu['name']} ({gpu['memory_gb']} GB): training runs there")
        if info.get("mps"):
            lines.append("Apple GPU (MPS): training runs there")
        if not info.get("gpus") and not info.get("mps"):
            lines.append("No GPU found: training runs on the CPU. Small models and the Quick preset work well.")
        self.hardware_label.setText("\n".join(lines))

    def _models_loaded(self, models: list) -> None:
        from pathlib import Path

        current = self.model_path() or self._wanted_model
        unique, seen = [], set()
        for m in [m for m in models if m.source != "run"] + [m for m in models if m.source == "run"]:
            key = str(Path(m.path).resolve())
            if key not in seen:  # the bundled model added again as a folder is listed once, as the bundled model
                seen.add(key)
                unique.append(m)
        self.models = unique
        self.win.compare_page.models_changed(self.models)
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.models))
        select = -1
        for row, m in enumerate(self.models):
            values = [m.name, m.source, m.architecture, format_count(m.parameters), format_bytes(m.size_bytes), m.note]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(f"{m.path}\n{m.note}")
                self.table.setItem(row, col, item)
            if current and Path(m.path).resolve() == Path(current).resolve():
                select = row
        fit_columns(self.table, stretch=5)
        self.table.resizeRowsToContents()
        self.table.blockSignals(False)
        self.status.setText(f"{len(self.models)} model{'s' if len(self.models) != 1 else ''} found. Pick one; the first is a good start."
                            if self.models else "No models found. Use “Add folder…” to add a Hugging Face model folder.")
        if select < 0 and self.models and not current:
            select = 0
        if select >= 0:
            self.table.selectRow(select)
        elif current:
            self._wanted_model = current
        self._show_expectation()
        self.update_plan()

    def select_model(self, path: str) -> None:
        """Select by folder path (adding it as an extra folder if it is not listed)."""
        from pathlib import Path

        for row, m in enumerate(self.models):
            if Path(m.path) == Path(path):
                self.table.selectRow(row)
                return
        extra = list(self.win.store.get("extra_model_folders", []))
        if path not in extra:
            extra.append(path)
            self.win.store.set("extra_model_folders", extra)
        self.table.blockSignals(True)
        self.table.clearSelection()
        self.table.blockSignals(False)
        self._wanted_model = path
        self.model_changed.emit()
        self.refresh()

    def add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a model folder", self.win.store.get("last_model_dir", ""))
        if not folder:
            return
        self.win.store.set("last_model_dir", folder)
        from pathlib import Path

        if not (Path(folder) / "config.json").is_file():
            show_error(self, "This folder is not a Hugging Face model: it has no config.json.",
                       "Pick the folder that holds config.json, the weights and the tokenizer files.")
            return
        self.select_model(folder)

    def _show_expectation(self) -> None:
        """The chosen model's 'what to expect', in full (the table's column is cut short in a narrow window)."""
        info = self.model_info()
        self.expect_label.setText(f"<b>{info.name}</b>: {info.note}" if info is not None and info.note else "")

    def _selection_changed(self) -> None:
        self._wanted_model = None
        path = self.model_path()
        if path:
            self.win.store.set("model_path", path)
        self.model_changed.emit()

    def model_path(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.models):
            return self._wanted_model
        return self.models[rows[0].row()].path

    def model_info(self):
        path = self.model_path()
        return next((m for m in self.models if m.path == path), None)

    # -- settings --------------------------------------------------------------------------------
    def _build_inputs(self, form: QFormLayout) -> None:
        def auto_int(lo, hi):
            box = QSpinBox()
            box.setRange(lo - 1, hi)
            box.setSpecialValueText("Auto")
            return box

        def auto_float(lo, hi, step, decimals):
            box = QDoubleSpinBox()
            box.setDecimals(decimals)
            box.setRange(lo - step, hi)
            box.setSingleStep(step)
            box.setSpecialValueText("Auto")
            return box

        def rate():
            edit = QLineEdit()
            edit.setPlaceholderText("Auto")
            validator = QDoubleValidator(0.0, 1.0, 10)
            validator.setNotation(QDoubleValidator.ScientificNotation)
            edit.setValidator(validator)
            return edit

        def combo(items):
            box = QComboBox()
            box.addItems(items)
            return box

        self.inputs = {
            "epochs": auto_float(1, 100, 1, 1),
            "batch_size": auto_int(1, 1024),
            "learning_rate": rate(),
            "head_learning_rate": rate(),
            "max_length": auto_int(8, 8192),
            "warmup": auto_float(0.0, 0.5, 0.01, 2),
            "weight_decay": QDoubleSpinBox(),
            "grad_accum": QSpinBox(),
            "group_by_length": QCheckBox("Batch texts of similar length (faster)"),
            "seed": QSpinBox(),
            "class_weights": combo(["Auto", "On", "Off"]),
            "early_stopping_patience": auto_int(1, 50),
            "metric": combo(["macro_f1", "accuracy"]),
            "keep_best": QCheckBox("Keep the best epoch"),
            "device": combo(["auto", "cpu", "cuda", "mps"]),
            "precision": combo(["auto", "fp32", "bf16", "fp16"]),
            "time_budget_min": auto_float(0.5, 10000, 0.5, 1),
            "valid_split": QDoubleSpinBox(),
            "eval_every_epoch": QCheckBox("Evaluate after every epoch"),
            "threads": auto_int(1, 512),
        }
        self.inputs["warmup"].setRange(-0.01, 0.5)
        self.inputs["weight_decay"].setRange(0, 1)
        self.inputs["weight_decay"].setSingleStep(0.01)
        self.inputs["grad_accum"].setRange(1, 1024)
        self.inputs["seed"].setRange(0, 2**31 - 1)
        self.inputs["valid_split"].setRange(0.01, 0.5)
        self.inputs["valid_split"].setSingleStep(0.05)
        self.inputs["time_budget_min"].setRange(0, 10000)
        labels = {"head_learning_rate": "Head learning rate", "early_stopping_patience": "Early stopping patience",
                  "time_budget_min": "Time budget (minutes)", "valid_split": "Validation share", "grad_accum": "Gradient accumulation",
                  "max_length": "Max length (tokens)"}
        for name, widget in self.inputs.items():
            widget.setToolTip(TIPS.get(name, ""))
            form.addRow(labels.get(name, name.replace("_", " ").capitalize()) + ":", widget)
            signal = (getattr(widget, "valueChanged", None) or getattr(widget, "textChanged", None)
                      or getattr(widget, "currentTextChanged", None))
            if isinstance(widget, QCheckBox):
                signal = widget.toggled
            elif isinstance(widget, QComboBox):
                signal = widget.currentTextChanged
            signal.connect(self._settings_edited)

    def _method_changed(self, *_):
        method = self.method_combo.currentData()
        self.win.store.set("method", method)
        self.win.session.set_method(method)

    def set_method(self, method: str) -> None:
        self.method_combo.setCurrentIndex(self.method_combo.findData(method))

    def _long_changed(self, *_):
        mode = self.long_combo.currentData()
        self.win.store.set("long_documents", mode)
        self.win.session.set_long_documents(mode)

    def _settings_edited(self, *_):
        settings = self.settings()
        self.win.store.set("train_settings", settings.to_dict())
        self.win.session.set_settings(settings, self.win.store.get("preset"))
        self.settings_changed.emit()

    def set_settings(self, s) -> None:
        for name, widget in self.inputs.items():
            value = getattr(s, name)
            widget.blockSignals(True)
            if isinstance(widget, QLineEdit):
                widget.setText("" if value is None else f"{value:g}")
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QComboBox):
                if name == "class_weights":
                    widget.setCurrentIndex(0 if value is None else (1 if value else 2))
                else:
                    widget.setCurrentText(str(value))
            elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                widget.setValue(widget.minimum() if value is None else value)
            widget.blockSignals(False)
        self._settings_edited()

    def settings(self):
        from ..core.settings import TrainSettings

        values = {}
        for f in fields(TrainSettings):
            widget = self.inputs[f.name]
            if isinstance(widget, QLineEdit):
                text = widget.text().strip().replace(",", ".")
                try:
                    values[f.name] = float(text) if text else None
                except ValueError:
                    values[f.name] = None
            elif isinstance(widget, QCheckBox):
                values[f.name] = widget.isChecked()
            elif isinstance(widget, QComboBox):
                text = widget.currentText()
                values[f.name] = {"Auto": None, "On": True, "Off": False}[text] if f.name == "class_weights" else text
            elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                auto = widget.specialValueText() == "Auto" and widget.value() == widget.minimum()
                if f.name == "time_budget_min" and widget.value() == 0:
                    auto = True
                values[f.name] = None if auto else widget.value()
        if values["time_budget_min"] is None and self.inputs["time_budget_min"].value() == 0:
            values["time_budget_min"] = None
        return TrainSettings(**values)

    def apply_budget(self) -> None:
        from dataclasses import replace

        minutes = self.budget_spin.value()
        self.win.store.set("preset", "budget")
        self.win.store.set("budget_minutes", minutes)
        self.set_settings(replace(self.settings(), time_budget_min=float(minutes), early_stopping_patience=None))

    def planned(self):
        """(resolved settings, reasons) as the engine will choose them for the open data and this model, or None.
        ``reasons["method"]`` says how training learns (``planned_method`` has the method itself)."""
        planned = self.planned_method()
        return None if planned is None or isinstance(planned, str) else planned[1:]

    def planned_method(self):
        """(method, resolved settings, reasons) as ``methods.train_with_method`` will choose them, None without
        data or a model, or a sentence when the chosen method cannot train the open data."""
        from ..core.defaults import Facts, plan_with_method
        from ..core.errors import UserInputError

        data, info = self.win.training_data(), self.model_info()
        if data is None or info is None or not len(data):
            return None
        try:
            method, reason = self.win.session.method_choice()
        except UserInputError as e:
            return f"{e.message} {e.fix or ''}".strip() if hasattr(e, "message") else str(e)
        s = self.settings()
        gpus = self.hardware_info.get("gpus") or []
        # few-shot trains on every labeled row (its validation is cross-validation on them)
        n_train = len(data) if method == "few-shot" else max(1, round(len(data) * (1 - (s.valid_split or 0.1))))
        facts = Facts(n_train=n_train, class_counts=data.class_counts(),
                      token_lengths=self.win.data_page.lengths or [], model_parameters=info.parameters,
                      model_max_length=min(info.max_length or 512, 512),
                      device_type="cuda" if gpus else ("mps" if self.hardware_info.get("mps") else "cpu"),
                      gpu_memory_gb=gpus[0]["memory_gb"] if gpus else None)
        method, resolved, reasons = plan_with_method(s, facts, requested=method)
        reasons["method"] = {"value": method, "reason": reason}
        return method, resolved, reasons

    def update_plan(self) -> None:
        from html import escape

        from ..core.defaults import PRESETS
        from ..core.session import epochs_in_words, percent

        planned = self.planned_method()
        if planned is None:
            self._plan_rows = None  # a later resize must not bring back an old plan
            self.plan_label.setText("Open your data and pick a model: the settings the app chooses, and the reason "
                                    "for each, appear here.")
            return
        if isinstance(planned, str):
            self._plan_rows = None
            self.plan_label.setText(f"<b>This way of learning cannot train your data.</b> {escape(planned)}")
            return
        method, resolved, reasons = planned
        rows = [("How it learns", "learning method", METHOD_WORDS[method], reasons["method"]["reason"])]
        if method == "zero-shot":
            rows.append(("", "", "", "Nothing is trained: the categories are recognised from their names. "
                                     "The run is ready at once."))
            self._show_plan(rows)
            return
        if "validation" in reasons:
            v = reasons["validation"]
            rows.append(("How it is checked", "validation", str(v["value"]), v["reason"]))
        preset = PRESETS.get(self.win.store.get("preset") or "")
        from_preset = {"time_budget_min": preset.time_budget_min, "early_stopping_patience": preset.patience} if preset else {}
        names = {"time_budget_min": ("Time limit", "time budget"), "epochs": ("Passes over the texts", "epochs"),
                 "learning_rate": ("Learning speed", "learning rate"),
                 "head_learning_rate": ("Learning speed of the new output layer", "head learning rate"),
                 "max_length": ("Longest text read", "max length, in tokens (pieces of words)"),
                 "batch_size": ("Texts per step", "batch size"),
                 "warmup": ("Gentle start", "warm-up: share of steps with a rising learning rate"),
                 "early_stopping_patience": ("Stop when no longer improving", "early stopping patience, in epochs"),
                 "class_weights": ("Class weights", "weighted loss for rare classes")}
        for key, (label, expert) in names.items():
            why = reasons.get(key)
            value = getattr(resolved, key)
            if why is None and value is None:
                continue
            reason = why["reason"] if why else ""
            if reason == "set by you" and key in from_preset and from_preset[key] == value:
                reason = f"from the “{preset.title}” choice above"
            if key == "time_budget_min":
                shown = f"about {value:g} minutes" if value else "none"
            elif key == "epochs":
                timed = resolved.time_budget_min and not self.win.session.settings.epochs
                shown = "as many as fit in the time" if timed else epochs_in_words(value)
            elif key == "warmup":
                shown = percent(value)
            elif key == "max_length":
                shown = f"{value} tokens"
            elif key == "early_stopping_patience":
                shown = f"after {value} pass{'es' if value != 1 else ''}"
            elif isinstance(value, bool):
                shown = "on" if value else "off"
            elif isinstance(value, float):
                shown = f"{value:g}"
            else:
                shown = str(value)
            if key == "batch_size" and method == "few-shot" and reason != "set by you" and self.win.training_data() is not None:
                from ..core.session import few_shot_batch_words

                reason = few_shot_batch_words(int(value), len(self.win.training_data().class_counts()))
            if key == "class_weights" and not value and self.win.training_data() is not None:
                counts = list(self.win.training_data().class_counts().values()) or [1]
                ratio = max(counts) / max(1, min(counts))
                if ratio >= 3:
                    reason += (f". Your largest class has {ratio:.1f} times the examples of the smallest: if the results show "
                               "a rare class being missed, set Class weights to On under Advanced settings")
            rows.append((label, expert, shown, reason))
        self._show_plan(rows)

    PLAN_STACKED_BELOW = 70  # average characters: a narrower plan puts each reason under its setting

    def _show_plan(self, rows: list[tuple[str, str, str, str]] | None = None) -> None:
        """The plan as a table of (setting, value, why); in a narrow column each why goes under its setting,
        so the reasons are not squeezed into a column a word or two wide."""
        from html import escape

        if rows is not None:
            self._plan_rows = rows
        rows = getattr(self, "_plan_rows", None)
        if not rows:
            return
        stacked = self._plan_is_narrow()
        self._plan_stacked = stacked
        from ..core.session import in_window_words

        html = []
        for label, expert, shown, reason in rows:
            reason = in_window_words(reason)  # no command-line flags in the window
            if not label:  # a sentence across the table
                html.append(f"<tr><td colspan='3'>{escape(reason)}</td></tr>")
            elif stacked:
                html.append(f"<tr><td title='{escape(expert)}'>{escape(label)}: <b>{escape(shown)}</b></td></tr>"
                            f"<tr><td style='padding:0 0 6px 12px'>{escape(reason)}</td></tr>")
            else:
                html.append(f"<tr><td title='{escape(expert)}'>{escape(label)}</td><td style='padding:0 8px'>"
                            f"<b>{escape(shown)}</b></td><td>{escape(reason)}</td></tr>")
        self.plan_label.setText("<table cellspacing='2'>" + "".join(html) + "</table>")

    def _plan_is_narrow(self) -> bool:
        return self.plan_label.width() < self.PLAN_STACKED_BELOW * self.plan_label.fontMetrics().averageCharWidth()

    def eventFilter(self, watched, event):  # noqa: N802 - Qt's name
        from PySide6.QtCore import QEvent

        if watched is self.plan_label and event.type() == QEvent.Resize:
            if self._plan_is_narrow() != getattr(self, "_plan_stacked", None):
                self._show_plan()
        return super().eventFilter(watched, event)

    def apply_preset(self, key: str) -> None:
        from ..core.defaults import apply_preset

        self.win.store.set("preset", key)
        self.set_settings(apply_preset(self.settings(), key))

    def update_settings(self, **changes) -> None:
        from dataclasses import replace

        self.set_settings(replace(self.settings(), **changes))
