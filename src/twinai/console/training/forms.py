from __future__ import annotations

from typing import Any

from django import forms

from twinai.console import services
from twinai.console.training.models import Dataset, Fold


class DatasetForm(forms.Form):
    name = forms.CharField(max_length=200)
    file = forms.FileField(label="Capture, flow CSV / Zeek log or Parquet flow table")


class TrainForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.all())
    fold = forms.ChoiceField(choices=Fold.choices, initial=Fold.BOTH)
    models = forms.MultipleChoiceField(
        choices=[], initial=["lightgbm"], widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["models"].choices = [(m, m) for m in services.model_names()]
